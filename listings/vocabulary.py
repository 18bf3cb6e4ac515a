"""The one vocabulary of listing field values, shared by forms, the importer, the API and search.

Values are what the database, the JSON API and the index store; labels are
what pages show.
"""

from __future__ import annotations

import enum

from careers.core.text import money

SETTINGS = {
    "inpatient": "Inpatient facility",
    "outpatient": "Outpatient facility",
    "profee": "Professional fee",
    "asc": "Ambulatory surgery center",
    "ed": "Emergency department",
    "risk_adjustment": "Risk adjustment / HCC",
    "cdi": "Clinical documentation integrity (CDI)",
    "audit": "Audit / compliance",
    "denials": "Denials / appeals",
    "billing": "Billing",
    "him": "HIM / release of information",
    "payer": "Payer-side",
}
CODE_SETS = {
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "cpt": "CPT",
    "hcpcs": "HCPCS Level II",
    "drg": "DRG",
    "hcc": "HCC",
}
WORK_MODES = {"remote": "Remote", "hybrid": "Hybrid", "onsite": "On-site"}
EMPLOYMENT_TYPES = {
    "full_time": "Full time",
    "part_time": "Part time",
    "contract": "Contract",
    "temporary": "Temporary",
    "per_diem": "Per diem",
}
PAY_UNITS = {"hour": "per hour", "year": "per year", "chart": "per chart"}
SPECIALTIES = {
    "anesthesia": "Anesthesia",
    "behavioral_health": "Behavioral health",
    "cardiology": "Cardiology",
    "dermatology": "Dermatology",
    "emergency": "Emergency medicine",
    "evaluation_management": "Evaluation & management",
    "family_practice": "Family practice",
    "gastroenterology": "Gastroenterology",
    "general_surgery": "General surgery",
    "hematology_oncology": "Hematology / oncology",
    "internal_medicine": "Internal medicine",
    "interventional_radiology": "Interventional radiology",
    "neurology": "Neurology",
    "obgyn": "OB/GYN",
    "ophthalmology": "Ophthalmology",
    "orthopedics": "Orthopedics",
    "pathology": "Pathology",
    "pediatrics": "Pediatrics",
    "radiology": "Radiology",
    "rural_health": "Rural health",
    "urology": "Urology",
}
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}
HOURS_PER_YEAR = 2080


class ListingState(enum.StrEnum):
    """The lifecycle states (ARCHITECTURE.md's table); `listings.service` owns the transitions."""

    DRAFT = "draft"
    AWAITING_PAYMENT = "awaiting_payment"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CLOSED = "closed"
    REMOVED = "removed"


class CredentialKind(str, enum.Enum):
    REQUIRED = "required"
    ANY_OF = "any_of"
    PREFERRED = "preferred"


# (code, full name, issuing body, category, entry level, active, aliases)
CREDENTIALS: list[tuple[str, str, str, str, bool, bool, list[str]]] = [
    ("CPC", "Certified Professional Coder", "AAPC", "core", False, True, []),
    ("CPC-A", "Certified Professional Coder – Apprentice", "AAPC", "core", True, True, ["CPC Apprentice"]),
    ("COC", "Certified Outpatient Coder", "AAPC", "core", False, True, ["CPC-H"]),
    ("CIC", "Certified Inpatient Coder", "AAPC", "core", False, True, []),
    ("CRC", "Certified Risk Adjustment Coder", "AAPC", "core", False, True, []),
    ("CPMA", "Certified Professional Medical Auditor", "AAPC", "audit", False, True, []),
    ("CPB", "Certified Professional Biller", "AAPC", "billing", False, True, []),
    ("CPCO", "Certified Professional Compliance Officer", "AAPC", "compliance", False, True, []),
    ("CPPM", "Certified Physician Practice Manager", "AAPC", "management", False, True, []),
    ("CDEO", "Certified Documentation Expert Outpatient", "AAPC", "cdi", False, True, []),
    ("CPCD", "Certified Professional Coder in Dermatology", "AAPC", "specialty", False, True, []),
    ("CANPC", "Certified Anesthesia and Pain Management Coder", "AAPC", "specialty", False, True, []),
    ("CASCC", "Certified Ambulatory Surgery Center Coder", "AAPC", "specialty", False, True, []),
    ("CIRCC", "Certified Interventional Radiology Cardiovascular Coder", "AAPC", "specialty", False, True, []),
    ("COBGC", "Certified Obstetrics Gynecology Coder", "AAPC", "specialty", False, True, []),
    ("CRHC", "Certified Rural Health Coder", "AAPC", "specialty", False, True, []),
    ("CEDC", "Certified Emergency Department Coder", "AAPC", "specialty", False, True, []),
    ("CEMC", "Certified Evaluation and Management Coder", "AAPC", "specialty", False, True, []),
    ("CFPC", "Certified Family Practice Coder", "AAPC", "specialty", False, True, []),
    ("CGSC", "Certified General Surgery Coder", "AAPC", "specialty", False, True, []),
    ("COSC", "Certified Orthopaedic Surgery Coder", "AAPC", "specialty", False, True, []),
    ("CPEDC", "Certified Pediatric Coder", "AAPC", "specialty", False, True, []),
    ("CHONC", "Certified Hematology and Oncology Coder", "AAPC", "specialty", False, True, []),
    ("CCA", "Certified Coding Associate", "AHIMA", "core", True, True, []),
    ("CCS", "Certified Coding Specialist", "AHIMA", "core", False, True, []),
    ("CCS-P", "Certified Coding Specialist – Physician-based", "AHIMA", "core", False, True, []),
    ("RHIT", "Registered Health Information Technician", "AHIMA", "him", False, True, []),
    ("RHIA", "Registered Health Information Administrator", "AHIMA", "him", False, True, []),
    ("CDIP", "Certified Documentation Integrity Practitioner", "AHIMA", "cdi", False, True,
     ["Certified Documentation Improvement Practitioner"]),
    ("CHDA", "Certified Health Data Analyst", "AHIMA", "data", False, True, []),
    ("CHPS", "Certified in Healthcare Privacy and Security", "AHIMA", "compliance", False, True, []),
    ("CCDS", "Certified Clinical Documentation Specialist", "ACDIS", "cdi", False, True, []),
    ("CCDS-O", "Certified Clinical Documentation Specialist – Outpatient", "ACDIS", "cdi", False, True, []),
    ("CBCS", "Certified Billing and Coding Specialist", "NHA", "billing", True, True, []),
    ("CMRS", "Certified Medical Reimbursement Specialist", "AMBA", "billing", False, True, []),
]


def annualise(amount: float | None, unit: str) -> int | None:
    """Yearly dollars: the yearly figure, or hourly × 2080; per-chart pay has none."""
    if amount is None or unit == "chart":
        return None
    if unit == "hour":
        return int(round(float(amount) * HOURS_PER_YEAR))
    return int(round(float(amount)))


def pay_text(pay_min, pay_max, unit: str | None, *, compact: bool = False) -> str:
    """Pay in words. The listing page: "$28.50 – $34.00 per hour", "$52,000 – $60,000 per year" (cents on
    hourly and per-chart pay); a result card or feed item (`compact`): "$28.50–$34 per hour". "" without pay."""
    if pay_min is None:
        return ""
    label = PAY_UNITS.get(unit or "", unit or "")
    cents = None if compact or unit == "year" else True
    low, high = money(pay_min, cents=cents), money(pay_max if pay_max is not None else pay_min, cents=cents)
    amount = low if low == high else (f"{low}–{high}" if compact else f"{low} – {high}")
    return f"{amount} {label}".strip()
