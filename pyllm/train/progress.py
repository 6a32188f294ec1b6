"""A progress bar and the metric logs (JSONL and CSV) of a training run.

On a terminal the bar redraws one line in place (at most 10 times a second):

    step  120/2000 [##........................]  6% loss 2.3451 lr 1.00e-03 12,345 tok/s eta 3:05

elsewhere (a log file, CI) it prints that line every ``every`` steps instead.
"""
import csv
import io
import json
import os
import sys
import time

from ..io.atomic import atomic_write

CSV_COLUMNS = ["step", "kind", "loss", "train_loss", "val_loss", "lr", "grad_norm", "tokens_per_s", "elapsed"]


class ProgressBar:
    def __init__(self, total, initial=0, file=None, every=50, width=26):
        self.total, self.file, self.every, self.width = total, file or sys.stderr, every, width
        self.tty = hasattr(self.file, "isatty") and self.file.isatty()
        self.start_step, self.start_time, self.last_draw = initial, time.perf_counter(), 0.0
        self.shown = False
        self.tokens = 0

    def update(self, step, loss, lr, tokens):
        """After each step: ``tokens`` processed by it. The bar's tokens/s is the mean since the bar began
        (steady, unlike one step's rate)."""
        now = time.perf_counter()
        self.tokens += tokens
        if self.tty and now - self.last_draw < 0.1 and step < self.total:
            return
        if not self.tty and step % self.every and step < self.total:
            return
        self.last_draw = now
        done = step / max(1, self.total)
        filled = int(self.width * done)
        elapsed = max(now - self.start_time, 1e-9)
        rate, tokens_per_s = (step - self.start_step) / elapsed, self.tokens / elapsed
        eta = int((self.total - step) / rate) if rate > 0 else 0
        line = (f"step {step:>{len(str(self.total))}}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{done:4.0%} loss {loss:.4f} lr {lr:.2e} {tokens_per_s:,.0f} tok/s eta {eta // 60}:{eta % 60:02d}")
        if self.tty:
            self.file.write("\r" + line + "\x1b[K")
            self.shown = True
        else:
            self.file.write(line + "\n")
        self.file.flush()

    def write(self, message):
        """Prints a line (an evaluation, a notice) above the bar."""
        if self.shown:
            self.file.write("\r\x1b[K")
        self.file.write(message + "\n")
        self.file.flush()
        self.shown = False

    def close(self):
        if self.shown:
            self.file.write("\n")
            self.file.flush()
            self.shown = False


class MetricsLog:
    """Appends each row (a dict) to ``<out_dir>/metrics.jsonl`` and ``metrics.csv``; ``rewrite(history)``
    replaces both with a run's history (on resume: rows logged after the checkpoint are dropped)."""

    def __init__(self, out_dir):
        self.jsonl = os.path.join(out_dir, "metrics.jsonl")
        self.csv = os.path.join(out_dir, "metrics.csv")

    def rewrite(self, history):
        for path, text in ((self.jsonl, "".join(_json_line(r) for r in history)),
                           (self.csv, _csv_text(history, header=True))):
            with atomic_write(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)

    def append(self, row):
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(_json_line(row))
        with open(self.csv, "a", encoding="utf-8", newline="") as f:
            f.write(_csv_text([row], header=f.tell() == 0))


def _json_line(row):
    return json.dumps(row) + "\n"


def _csv_text(rows, header):
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


def read_jsonl(path):
    """The rows of a metrics.jsonl file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
