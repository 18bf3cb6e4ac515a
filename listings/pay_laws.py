"""Pay-transparency laws in force, one row per state: what a job posting must show there.

Data only; `listings.pay_transparency` applies it. Each row names the statute, the date its posting rule took
effect, the smallest employer it covers and what a posting must show (each requirement with the date it
started: Colorado added the application window's close in 2024). States whose law only makes the employer
disclose the range on request or before an offer (CT, NV, RI) are listed with nothing a posting must show, so
the table says they were looked at. Sources: the statutes cited; review this table when a legislature acts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

RANGE, BENEFITS, DEADLINE = "range", "benefits", "deadline"
REQUIREMENT_WORDS = {
    RANGE: "the pay range (lowest and highest pay)",
    BENEFITS: "a general description of the benefits and other compensation",
    DEADLINE: "the date the application window is expected to close",
}


@dataclasses.dataclass(frozen=True)
class PayLaw:
    state: str
    law: str
    citation: str
    effective: dt.date
    min_employees: int  # 1: every employer
    requires: tuple[tuple[str, dt.date], ...]  # (what the posting must show, since)
    note: str = ""


def _since(effective: dt.date, *what: str) -> tuple[tuple[str, dt.date], ...]:
    return tuple((w, effective) for w in what)


_CO = dt.date(2021, 1, 1)
LAWS: dict[str, PayLaw] = {law.state: law for law in (
    PayLaw("CO", "Equal Pay for Equal Work Act", "C.R.S. § 8-5-201", _CO, 1,
           (*_since(_CO, RANGE, BENEFITS), (DEADLINE, dt.date(2024, 1, 1))),
           "Covers remote jobs that could be done in Colorado; the application-window date was added by SB 23-105."),
    PayLaw("CA", "Pay scale disclosure", "Cal. Lab. Code § 432.3", dt.date(2023, 1, 1), 15,
           _since(dt.date(2023, 1, 1), RANGE)),
    PayLaw("WA", "Equal Pay and Opportunities Act", "RCW 49.58.110", dt.date(2023, 1, 1), 15,
           _since(dt.date(2023, 1, 1), RANGE, BENEFITS)),
    PayLaw("NY", "Pay transparency", "N.Y. Lab. Law § 194-b", dt.date(2023, 9, 17), 4,
           _since(dt.date(2023, 9, 17), RANGE), "A good-faith compensation range."),
    PayLaw("IL", "Equal Pay Act of 2003 (pay scale and benefits)", "820 ILCS 112/10", dt.date(2025, 1, 1), 15,
           _since(dt.date(2025, 1, 1), RANGE, BENEFITS)),
    PayLaw("MD", "Equal Pay for Equal Work (wage range transparency)", "Md. Code, Lab. & Empl. § 3-304.2",
           dt.date(2024, 10, 1), 1, _since(dt.date(2024, 10, 1), RANGE, BENEFITS)),
    PayLaw("HI", "Pay transparency", "Haw. Rev. Stat. § 378-2.4", dt.date(2024, 1, 1), 50,
           _since(dt.date(2024, 1, 1), RANGE)),
    PayLaw("DC", "Wage Transparency Omnibus Amendment Act of 2023", "D.C. Code § 32-1451 et seq.",
           dt.date(2024, 6, 30), 1, _since(dt.date(2024, 6, 30), RANGE),
           "Healthcare benefits must also be disclosed before the first interview."),
    PayLaw("MN", "Pay transparency", "Minn. Stat. § 181.173", dt.date(2025, 1, 1), 30,
           _since(dt.date(2025, 1, 1), RANGE, BENEFITS)),
    PayLaw("NJ", "Pay and Benefit Transparency Act", "P.L. 2024, c. 91 (S2310)", dt.date(2025, 6, 1), 10,
           _since(dt.date(2025, 6, 1), RANGE, BENEFITS)),
    PayLaw("VT", "Pay range disclosure", "21 V.S.A. § 495o", dt.date(2025, 7, 1), 5,
           _since(dt.date(2025, 7, 1), RANGE)),
    PayLaw("MA", "Salary Range Transparency Act", "Mass. Gen. Laws ch. 149, § 105F", dt.date(2025, 10, 29), 25,
           _since(dt.date(2025, 10, 29), RANGE)),
    PayLaw("CT", "Wage range disclosure", "Conn. Gen. Stat. § 31-40z", dt.date(2021, 10, 1), 1, (),
           "The range is owed on request or before an offer; a posting need not show it."),
    PayLaw("NV", "Wage range disclosure", "NRS 613.133", dt.date(2021, 10, 1), 1, (),
           "The range is owed to an applicant who has interviewed; a posting need not show it."),
    PayLaw("RI", "Pay range disclosure", "R.I. Gen. Laws § 28-6-22", dt.date(2023, 1, 1), 1, (),
           "The range is owed on request and before compensation is discussed; a posting need not show it."),
)}
