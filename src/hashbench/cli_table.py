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
("Whatsmine r M60S" at 80 columns while the next column had room); here no wrapping column goes below its longest
word (up to WORD_FLOOR characters), and what that needs is taken from the columns with the most room to spare.

This leans on rich's private `_measure_column`, `_calculate_column_widths`, `_get_padding_width`, `_extra_width` and
`Column._cells` (checked with rich 15; tests/test_cli_table.py pins the behaviour)."""

from __future__ import annotations

from rich import table
from rich.console import Console, ConsoleOptions, RenderResult

WORD_FLOOR = 10  # "Whatsminer", "difficulty": the longest words of the prose columns


class Table(table.Table):
    def __init__(self, *headers: str, whole: tuple[str, ...] = (), record_names: tuple[str, ...] = (),
                 **kwargs) -> None:
        """`whole`: the headers of columns whose cells stay on one line (the figures), so a narrow terminal wraps
        the words in the other columns first. `record_names`: what each column is called in the records layout,
        where a header that leans on the table's shape no longer reads (a pivot's corner "difficulty \\ BTC" and
        its "$56,000" columns become "difficulty" and "BTC $56,000"); the headers where not given."""
        super().__init__(**kwargs)
        self.record_names = record_names
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
        """rich's widths, except that no wrapping column is narrower than its floor (see least_widths): what that
        takes is taken from the columns with the most room above their own floor, a character at a time."""
        widths = super()._calculate_column_widths(console, options)
        if sum(widths) < options.max_width or self.expand:
            return widths
        least = self.least_widths(console, options)
        if sum(least) > options.max_width:  # not even that fits: rich's squeeze (records are printed instead)
            return widths
        widths = [max(w, m) for w, m in zip(widths, least, strict=True)]
        for _ in range(sum(widths) - options.max_width):
            widest = max(range(len(widths)), key=lambda i: widths[i] - least[i])
            widths[widest] -= 1
        return widths

    def records(self) -> table.Table:
        """The same rows, one block each: a line per non-empty cell, the column's header beside it."""
        out = table.Table(title=self.title, title_justify=self.title_justify, title_style=self.title_style,
                          caption=self.caption, caption_justify=self.caption_justify, box=self.box,
                          show_header=False, show_edge=self.show_edge)
        out.add_column(no_wrap=True, style=self.header_style)
        out.add_column(overflow="fold")
        names = [" ".join(str(column.header).split()) for column in self.columns]
        names[:len(self.record_names)] = self.record_names[:len(names)]
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
