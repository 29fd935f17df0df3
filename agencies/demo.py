"""Demo data for Khánh Hòa: the agencies named in the 2025 appendix (with the abbreviations the
appendix uses as aliases), the provincial party office, the police, statistics, the media, a
handful of communes and wards, the telecom companies, the agency groups, and one or more demo
accounts per role. Idempotent: running it again updates in place.
"""

from __future__ import annotations

from agencies.models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias, User

DEFAULT_PASSWORD = "demo12345"  # noqa: S105 - demo data only, printed by seed_demo

K = Agency.Kind
# (code, name, short name, kind, aliases)
AGENCIES: list[tuple[str, str, str, str, list[str]]] = [
    ("so-khcn", "Sở Khoa học và Công nghệ", "Sở KH&CN", K.DEPARTMENT, ["Sở KHCN", "KH&CN"]),
    (
        "vp-ubnd",
        "Văn phòng UBND tỉnh",
        "VP UBND tỉnh",
        K.DEPARTMENT,
        ["Văn phòng Ủy ban nhân dân tỉnh", "VP UBND", "VPUBND tỉnh"],
    ),
    ("vp-tinh-uy", "Văn phòng Tỉnh ủy", "VP Tỉnh ủy", K.PARTY, ["Văn phòng Tỉnh uỷ"]),
    ("so-noi-vu", "Sở Nội vụ", "SNV", K.DEPARTMENT, []),
    ("so-tai-chinh", "Sở Tài chính", "STC", K.DEPARTMENT, []),
    ("so-xay-dung", "Sở Xây dựng", "SXD", K.DEPARTMENT, []),
    ("so-cong-thuong", "Sở Công Thương", "SCT", K.DEPARTMENT, []),
    (
        "so-vhttdl",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Sở VHTTDL",
        K.DEPARTMENT,
        ["Sở VH,TT&DL", "Sở Văn hoá, Thể thao và Du lịch"],
    ),
    ("so-nnmt", "Sở Nông nghiệp và Môi trường", "Sở NN&MT", K.DEPARTMENT, []),
    ("so-gddt", "Sở Giáo dục và Đào tạo", "Sở GD&ĐT", K.DEPARTMENT, []),
    ("so-y-te", "Sở Y tế", "SYT", K.DEPARTMENT, []),
    ("so-tu-phap", "Sở Tư pháp", "STP", K.DEPARTMENT, []),
    ("so-dttg", "Sở Dân tộc và Tôn giáo", "Sở DT&TG", K.DEPARTMENT, []),
    ("thanh-tra", "Thanh tra tỉnh", "", K.DEPARTMENT, []),
    ("bql-kkt-vp", "Ban Quản lý Khu kinh tế Vân Phong", "BQL KKT Vân Phong", K.DEPARTMENT, []),
    ("cong-an", "Công an tỉnh", "CA tỉnh", K.POLICE, ["Công an tỉnh Khánh Hòa"]),
    ("thong-ke", "Thống kê tỉnh", "", K.OTHER, ["Chi cục Thống kê tỉnh", "Cục Thống kê tỉnh"]),
    (
        "bao-ptth",
        "Báo và Phát thanh, Truyền hình Khánh Hòa",
        "Báo và PT-TH Khánh Hòa",
        K.OTHER,
        ["Báo và Phát thanh, Truyền hình tỉnh", "Báo Khánh Hòa"],
    ),
    ("vnpt", "VNPT Khánh Hòa", "VNPT", K.ENTERPRISE, ["Viễn thông Khánh Hòa"]),
    ("viettel", "Viettel Khánh Hòa", "Viettel", K.ENTERPRISE, ["Chi nhánh Viettel Khánh Hòa"]),
    ("mobifone", "MobiFone Khánh Hòa", "MobiFone", K.ENTERPRISE, []),
    ("p-nha-trang", "UBND phường Nha Trang", "P. Nha Trang", K.COMMUNE, []),
    ("p-bac-nha-trang", "UBND phường Bắc Nha Trang", "P. Bắc Nha Trang", K.COMMUNE, []),
    ("p-cam-ranh", "UBND phường Cam Ranh", "P. Cam Ranh", K.COMMUNE, []),
    ("p-ninh-hoa", "UBND phường Ninh Hòa", "P. Ninh Hòa", K.COMMUNE, []),
    ("p-phan-rang", "UBND phường Phan Rang", "P. Phan Rang", K.COMMUNE, []),
    ("x-dien-khanh", "UBND xã Diên Khánh", "X. Diên Khánh", K.COMMUNE, []),
    ("x-van-ninh", "UBND xã Vạn Ninh", "X. Vạn Ninh", K.COMMUNE, []),
]

# (code, name, kinds, explicit member codes, aliases)
GROUPS: list[tuple[str, str, list[str], list[str], list[str]]] = [
    ("cac-so-nganh", "Các sở, ban, ngành", [K.DEPARTMENT], [], ["Sở, ban, ngành"]),
    ("cac-dia-phuong", "Các địa phương", [K.COMMUNE], [], ["Các xã, phường", "UBND cấp xã"]),
    (
        "so-nganh-dia-phuong",
        "Sở, ban, ngành, địa phương",
        [K.DEPARTMENT, K.COMMUNE],
        [],
        ["Các sở, ban, ngành, địa phương", "Các sở, ban, ngành và địa phương"],
    ),
    (
        "dn-vien-thong",
        "Các doanh nghiệp viễn thông",
        [],
        ["vnpt", "viettel", "mobifone"],
        ["Doanh nghiệp viễn thông", "Các DNVT"],
    ),
]

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
    ("quantri", "Quản trị hệ thống", User.Role.ADMIN, None),
]


def seed_agencies() -> dict[str, Agency]:
    """Creates or updates the demo agencies, aliases and groups; returns agencies by code."""
    by_code: dict[str, Agency] = {}
    for code, name, short, kind, aliases in AGENCIES:
        agency = Agency.objects.filter(code=code).first() or Agency(code=code)
        agency.name, agency.short_name, agency.kind, agency.is_active = name, short, kind, True
        agency.save()
        by_code[code] = agency
        for alias in aliases:
            row = AgencyAlias(agency=agency, alias=alias)
            if not AgencyAlias.objects.filter(normalized=_key(alias)).exists():
                row.save()
    for code, name, kinds, members, aliases in GROUPS:
        group = AgencyGroup.objects.filter(code=code).first() or AgencyGroup(code=code)
        group.name, group.kinds = name, list(kinds)
        group.save()
        group.members.set([by_code[m] for m in members])
        for alias in aliases:
            if not AgencyGroupAlias.objects.filter(normalized=_key(alias)).exists():
                AgencyGroupAlias.objects.create(group=group, alias=alias)
    return by_code


def _key(text: str) -> str:
    from agencies.text import normalize_name

    return normalize_name(text)


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
