"""Review economics worked by hand (SPEC W15), shared by the pure tests and the screen-4 tests."""

from __future__ import annotations


def option(action: str, right: str, strike: str, quantity: int, expiry: str = "2026-07-17") -> dict:
    return {
        "action": action,
        "instrument": "option",
        "right": right,
        "strike": strike,
        "expiry": expiry,
        "quantity": quantity,
    }


def shares(quantity: int) -> dict:
    return {
        "action": "buy",
        "instrument": "equity",
        "right": None,
        "strike": None,
        "expiry": None,
        "quantity": quantity,
    }


# Hand-worked, with the walkthrough's fixture quotes (a sale fills at the bid, a buy at the ask;
# shares at the underlying price). Per unit is per share of one contract; totals are x 100 x q.
#
# Iron condor, SPX: buy 5300 put 8.80, sell 5350 put 11.40, sell 5600 call 12.80, buy 5650 call 6.90.
#   credit = 11.40 + 12.80 - 8.80 - 6.90 = 8.50; largest gain = the credit = 850 per contract;
#   largest loss = wing width 50 - 8.50 = 41.50 -> -4150 per contract;
#   breakevens 5350 - 8.50 = 5341.50 and 5600 + 8.50 = 5608.50;
#   payoff margin = (5650 - 5300) / 2 = 175 either side.
# Call debit spread, XYZ: buy 480 call 8.40, sell 490 call 3.90: debit 4.50; gain (10 - 4.50) = 5.50;
#   loss 4.50; breakeven 480 + 4.50 = 484.50.
# Call credit spread: sell 480 call 8.10, buy 490 call 4.20: credit 3.90; gain 3.90; loss 10 - 3.90
#   = 6.10; breakeven 480 + 3.90 = 483.90.
# Put debit spread: buy 490 put 14.30, sell 480 put 8.00: debit 6.30; gain 10 - 6.30 = 3.70; loss 6.30;
#   breakeven 490 - 6.30 = 483.70.
# Put credit spread: sell 490 put 13.80, buy 480 put 8.30: credit 5.50; gain 5.50; loss 10 - 5.50 =
#   4.50; breakeven 490 - 5.50 = 484.50.
# Covered call: buy 100 shares 101.50, sell 105 call 1.70: debit 101.50 - 1.70 = 99.80; gain
#   105 - 99.80 = 5.20; loss 99.80 (the shares at 0); breakeven 99.80; margin (105 - 99.80) / 2 = 2.60.
def _condor(q):
    return [
        option("buy", "put", "5300", q),
        option("sell", "put", "5350", q),
        option("sell", "call", "5600", q),
        option("buy", "call", "5650", q),
    ], ["8.80", "11.40", "12.80", "6.90"]


def _spread(q, right, buy_strike, sell_strike, buy_fill, sell_fill):
    return [option("buy", right, buy_strike, q), option("sell", right, sell_strike, q)], [buy_fill, sell_fill]


def _covered(q):
    return [shares(100 * q), option("sell", "call", "105", q, "2026-07-24")], ["101.50", "1.70"]


def _payoff(*pairs):
    return [{"underlying": u, "pnl": p} for u, p in pairs]


TABLES = {
    ("iron_condor", 1): (
        _condor(1),
        {"kind": "credit", "per_unit": "8.50", "total": "850.00"},
        "850.00",
        "-4150.00",
        ["5341.50", "5608.50"],
        _payoff(
            ("5125.00", "-4150.00"),
            ("5300.00", "-4150.00"),
            ("5341.50", "0.00"),
            ("5350.00", "850.00"),
            ("5600.00", "850.00"),
            ("5608.50", "0.00"),
            ("5650.00", "-4150.00"),
            ("5825.00", "-4150.00"),
        ),
    ),
    ("iron_condor", 3): (
        _condor(3),
        {"kind": "credit", "per_unit": "8.50", "total": "2550.00"},
        "2550.00",
        "-12450.00",
        ["5341.50", "5608.50"],
        _payoff(
            ("5125.00", "-12450.00"),
            ("5300.00", "-12450.00"),
            ("5341.50", "0.00"),
            ("5350.00", "2550.00"),
            ("5600.00", "2550.00"),
            ("5608.50", "0.00"),
            ("5650.00", "-12450.00"),
            ("5825.00", "-12450.00"),
        ),
    ),
    ("call_debit", 1): (
        _spread(1, "call", "480", "490", "8.40", "3.90"),
        {"kind": "debit", "per_unit": "4.50", "total": "450.00"},
        "550.00",
        "-450.00",
        ["484.50"],
        _payoff(
            ("475.00", "-450.00"),
            ("480.00", "-450.00"),
            ("484.50", "0.00"),
            ("490.00", "550.00"),
            ("495.00", "550.00"),
        ),
    ),
    ("call_debit", 3): (
        _spread(3, "call", "480", "490", "8.40", "3.90"),
        {"kind": "debit", "per_unit": "4.50", "total": "1350.00"},
        "1650.00",
        "-1350.00",
        ["484.50"],
        _payoff(
            ("475.00", "-1350.00"),
            ("480.00", "-1350.00"),
            ("484.50", "0.00"),
            ("490.00", "1650.00"),
            ("495.00", "1650.00"),
        ),
    ),
    ("call_credit", 1): (
        _spread(1, "call", "490", "480", "4.20", "8.10"),
        {"kind": "credit", "per_unit": "3.90", "total": "390.00"},
        "390.00",
        "-610.00",
        ["483.90"],
        _payoff(
            ("475.00", "390.00"),
            ("480.00", "390.00"),
            ("483.90", "0.00"),
            ("490.00", "-610.00"),
            ("495.00", "-610.00"),
        ),
    ),
    ("call_credit", 3): (
        _spread(3, "call", "490", "480", "4.20", "8.10"),
        {"kind": "credit", "per_unit": "3.90", "total": "1170.00"},
        "1170.00",
        "-1830.00",
        ["483.90"],
        _payoff(
            ("475.00", "1170.00"),
            ("480.00", "1170.00"),
            ("483.90", "0.00"),
            ("490.00", "-1830.00"),
            ("495.00", "-1830.00"),
        ),
    ),
    ("put_debit", 1): (
        _spread(1, "put", "490", "480", "14.30", "8.00"),
        {"kind": "debit", "per_unit": "6.30", "total": "630.00"},
        "370.00",
        "-630.00",
        ["483.70"],
        _payoff(
            ("475.00", "370.00"),
            ("480.00", "370.00"),
            ("483.70", "0.00"),
            ("490.00", "-630.00"),
            ("495.00", "-630.00"),
        ),
    ),
    ("put_debit", 3): (
        _spread(3, "put", "490", "480", "14.30", "8.00"),
        {"kind": "debit", "per_unit": "6.30", "total": "1890.00"},
        "1110.00",
        "-1890.00",
        ["483.70"],
        _payoff(
            ("475.00", "1110.00"),
            ("480.00", "1110.00"),
            ("483.70", "0.00"),
            ("490.00", "-1890.00"),
            ("495.00", "-1890.00"),
        ),
    ),
    ("put_credit", 1): (
        _spread(1, "put", "480", "490", "8.30", "13.80"),
        {"kind": "credit", "per_unit": "5.50", "total": "550.00"},
        "550.00",
        "-450.00",
        ["484.50"],
        _payoff(
            ("475.00", "-450.00"),
            ("480.00", "-450.00"),
            ("484.50", "0.00"),
            ("490.00", "550.00"),
            ("495.00", "550.00"),
        ),
    ),
    ("put_credit", 3): (
        _spread(3, "put", "480", "490", "8.30", "13.80"),
        {"kind": "credit", "per_unit": "5.50", "total": "1650.00"},
        "1650.00",
        "-1350.00",
        ["484.50"],
        _payoff(
            ("475.00", "-1350.00"),
            ("480.00", "-1350.00"),
            ("484.50", "0.00"),
            ("490.00", "1650.00"),
            ("495.00", "1650.00"),
        ),
    ),
    ("covered_call", 1): (
        _covered(1),
        {"kind": "debit", "per_unit": "99.80", "total": "9980.00"},
        "520.00",
        "-9980.00",
        ["99.80"],
        _payoff(
            ("97.20", "-260.00"),
            ("99.80", "0.00"),
            ("105.00", "520.00"),
            ("107.60", "520.00"),
        ),
    ),
    ("covered_call", 3): (
        _covered(3),
        {"kind": "debit", "per_unit": "99.80", "total": "29940.00"},
        "1560.00",
        "-29940.00",
        ["99.80"],
        _payoff(
            ("97.20", "-780.00"),
            ("99.80", "0.00"),
            ("105.00", "1560.00"),
            ("107.60", "1560.00"),
        ),
    ),
}
