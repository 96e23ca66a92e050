"""A progress bar for long runs: tqdm when installed and asked for, silent otherwise."""

import sys


class Progress:
    """``with Progress(total, desc, enabled) as bar: bar.update(**postfix)``.

    ``enabled=None`` shows a bar only for runs of at least 200 steps on a terminal.
    """

    def __init__(self, total, desc, enabled=None):
        if enabled is None:
            enabled = total >= 200 and sys.stderr.isatty()
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, leave=False)

    def __enter__(self):
        return self

    def update(self, **postfix):
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
