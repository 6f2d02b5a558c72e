"""Microcredit: loan products, repayment schedules with Apache Fineract's
semantics, the loan ledger, arrears and portfolio indicators. Pure rules, no I/O."""
