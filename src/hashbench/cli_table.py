"""The one table every command prints: rich's, with figures that are never cut.

rich ends text too long for a narrowed column in "…" by default: at 60 columns `plan` printed "$108,5…" for a
sensitivity-grid BTC price and "$1,158.71/M…" for a revenue per MWh, `market show` "$91,000.…" — a number that is no
longer the number. Here a column folds such text onto the next line instead, so every character stays on screen;
a column that asks for another overflow keeps it.

Folding has a floor: a column kept on one line (a figure) is cropped, not folded, once the terminal is narrower than
the figures together, and rich then squeezes the other columns to nothing (at 60 columns the portfolio printed
"$6.94" for $6.94M and no site names; the split table no fleet names). A table that cannot show every figure whole
and every word unbroken (up to WORD_FLOOR characters) at the terminal's width is printed as records instead: one
block per row, a line per column (header, then value), as psql's expanded mode does; longer, but nothing is lost.

Where the table fits, rich's own shrinking takes from the widest wrapping columns without regard to their words
("Whatsmine r M60S" at 80 columns while other columns had room); here each wrapping column keeps its longest word
and the spare width makes whole first the columns that lack least, so that as many as can be read on one line.

This leans on rich's private `_measure_column`, `_calculate_column_widths`, `_get_padding_width`, `_extra_width` and
`Column._cells` (checked with rich 15; tests/test_cli_table.py pins the behaviour)."""

from __future__ import annotations

from rich import table
from rich.console import Console, ConsoleOptions, RenderResult

WORD_FLOOR = 10  # "Whatsminer", "difficulty": the longest words of the prose columns


class Table(table.Table):
    def __init__(self, *headers: str, whole: tuple[str, ...] = (), **kwargs) -> None:
        """`whole`: the headers of columns whose cells stay on one line (the figures), so a narrow terminal wraps
        the words in the other columns first."""
        super().__init__(**kwargs)
        for header in headers:
            self.add_column(header, no_wrap=header in whole)

    def add_column(self, header="", footer="", *, overflow="fold", **kwargs) -> None:
        super().add_column(header, footer, overflow=overflow, **kwargs)

    def least_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Per column, padding included: a one-line column its widest cell, a wrapping one its longest word (or
        WORD_FLOOR characters of it: a benchmark id such as llm-decode[cpu-cpu-small-fp32-b1] may fold)."""
        unbounded = options.update_width(1 << 20)
        least = []
        for column in self.columns:
            measured = self._measure_column(console, unbounded, column)
            pad = self._get_padding_width(column._index)
            least.append(measured.maximum if column.no_wrap else min(measured.minimum, WORD_FLOOR + pad))
        return least

    def needed_width(self, console: Console, options: ConsoleOptions) -> int:
        return sum(self.least_widths(console, options)) + self._extra_width

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        ranges = [self._measure_column(console, options, column) for column in self.columns]
        widest = [r.maximum or 1 for r in ranges]
        if sum(widest) <= options.max_width or self.expand:
            return super()._calculate_column_widths(console, options)
        least = [min(w, m) for w, m in zip(widest, self.least_widths(console, options), strict=True)]
        spare = options.max_width - sum(least)
        if spare < 0:  # not even the words fit: rich's squeeze (only reached when printed inside another renderable)
            return super()._calculate_column_widths(console, options)
        widths = list(least)
        for i in sorted(range(len(widths)), key=lambda i: widest[i] - least[i]):  # the smallest lack first:
            grant = min(widest[i] - least[i], spare)  # as many columns as can be are whole on one line
            widths[i] += grant
            spare -= grant
        return widths

    def records(self) -> table.Table:
        """The same rows, one block each: a line per non-empty cell, the column's header beside it."""
        out = table.Table(title=self.title, title_justify=self.title_justify, title_style=self.title_style,
                          caption=self.caption, caption_justify=self.caption_justify, box=self.box,
                          show_header=False, show_edge=self.show_edge)
        out.add_column(no_wrap=True, style=self.header_style)
        out.add_column(overflow="fold")
        names = [" ".join(str(column.header).split()) for column in self.columns]
        for row in range(self.row_count):
            cells = [(name, column._cells[row]) for name, column in zip(names, self.columns, strict=True)]
            cells = [(name, cell) for name, cell in cells if not (isinstance(cell, str) and not cell.strip())]
            for i, (name, cell) in enumerate(cells):
                out.add_row(name, cell, end_section=i == len(cells) - 1)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.columns and self.row_count and self.needed_width(console, options) > options.max_width:
            yield self.records()
            return
        yield from super().__rich_console__(console, options)
