"""The one table every command prints: rich's, with figures that are never cut.

rich ends text too long for a narrowed column in "…" by default: at 60 columns `plan` printed "$108,5…" for a
sensitivity-grid BTC price and "$1,158.71/M…" for a revenue per MWh, `market show` "$91,000.…" — a number that is no
longer the number. Here a column folds such text onto the next line instead, so every character stays on screen;
a column that asks for another overflow keeps it."""

from __future__ import annotations

from rich import table


class Table(table.Table):
    def __init__(self, *headers: str, whole: tuple[str, ...] = (), **kwargs) -> None:
        """`whole`: the headers of columns whose cells stay on one line (the figures), so a narrow terminal wraps
        the words in the other columns first."""
        super().__init__(**kwargs)
        for header in headers:
            self.add_column(header, no_wrap=header in whole)

    def add_column(self, header="", footer="", *, overflow="fold", **kwargs) -> None:
        super().add_column(header, footer, overflow=overflow, **kwargs)
