"""A productive unit's financial statements per period (``period``): the income
statement and the balance sheet the adviser records (``statement``), their ratios
and trends over periods (``ratios``), and the sales a period's sealed follow-up
actas report (``sales``). Pure: no I/O."""
