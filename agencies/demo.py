"""Demo data for Khánh Hòa: the shipped agency directory (``data/agencies_khanh_hoa.csv``: the
agencies named in the 2025 appendix with the abbreviations it uses as aliases, the provincial
party office, the police, statistics, the media, a handful of communes and wards, the telecom
companies, the agency groups) and one or more demo accounts per role. Idempotent: running it
again updates in place.
"""

from __future__ import annotations

from pathlib import Path

from agencies.directory import agency_directory_import, read_directory_rows
from agencies.models import Agency, User

DEFAULT_PASSWORD = "demo12345"  # noqa: S105 - demo data only, printed by seed_demo

# The directory itself (agencies, aliases, groups) is the shipped file a province would load.
DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "agencies_khanh_hoa.csv"

# (username, full name, role, agency code)
ACCOUNTS: list[tuple[str, str, str, str | None]] = [
    ("canbo_khcn", "Trần Minh Khoa", User.Role.AGENCY_STAFF, "so-khcn"),
    ("canbo_vpubnd", "Lê Thị Vân", User.Role.AGENCY_STAFF, "vp-ubnd"),
    ("canbo_congan", "Phạm Quốc An", User.Role.AGENCY_STAFF, "cong-an"),
    ("canbo_noivu", "Nguyễn Thu Hà", User.Role.AGENCY_STAFF, "so-noi-vu"),
    ("canbo_taichinh", "Võ Đức Tài", User.Role.AGENCY_STAFF, "so-tai-chinh"),
    ("canbo_vhttdl", "Đặng Mỹ Linh", User.Role.AGENCY_STAFF, "so-vhttdl"),
    ("canbo_vnpt", "Hồ Văn Phong", User.Role.AGENCY_STAFF, "vnpt"),
    ("canbo_nhatrang", "Bùi Thị Trang", User.Role.AGENCY_STAFF, "p-nha-trang"),
    ("thamdinh", "Nguyễn Văn Thẩm", User.Role.REVIEWER, "so-khcn"),
    ("thamdinh2", "Trương Thị Định", User.Role.REVIEWER, "so-khcn"),
    ("lanhdao", "Lãnh đạo UBND tỉnh", User.Role.LEADER, None),
    ("hoidong", "Thành viên Hội đồng thẩm định", User.Role.COUNCIL, None),
    ("quantri", "Quản trị hệ thống", User.Role.ADMIN, None),
]


def seed_agencies() -> dict[str, Agency]:
    """Loads the shipped directory (``data/agencies_khanh_hoa.csv``) with the same import a
    province uses; returns agencies by code."""
    rows = read_directory_rows(DIRECTORY.read_bytes(), DIRECTORY.name)
    result = agency_directory_import(actor=None, rows=rows)
    if not result.ok:
        raise RuntimeError("; ".join(result.errors))
    return {a.code: a for a in Agency.objects.all()}


def seed_agencies_and_accounts(*, password: str | None = None) -> list[tuple[str, str, str, str]]:
    """Creates (idempotently) the demo agencies and accounts; returns
    ``[(username, role, agency name, password)]`` for printing."""
    pw = password or DEFAULT_PASSWORD
    by_code = seed_agencies()
    out = []
    for username, full_name, role, agency_code in ACCOUNTS:
        agency = by_code[agency_code] if agency_code else None
        user = User.objects.filter(username=username).first() or User(username=username)
        user.full_name, user.role, user.agency = full_name, role, agency
        user.email = f"{username}@khanhhoa.gov.vn"
        user.is_active = True
        user.is_staff = user.is_superuser = role == User.Role.ADMIN
        user.must_change_password = False
        user.set_password(pw)
        user.save()
        out.append((username, str(role), str(agency or "—"), pw))
    return out
