"""API hosts, regions and console pages, and the region a connection is in. Only the standard library: provider
discovery reads this while Airflow is starting."""

import re
from urllib.parse import urlsplit

#: The connection id every class uses unless told otherwise.
DEFAULT_CONN_ID = "dashscope_default"

DEFAULT_BASE_URL = "https://dashscope-intl.aliyuncs.com/api/v1"

#: Region shorthands for the documented API hosts.
REGIONS: dict[str, str] = {
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com/api/v1",
    "cn-beijing": "https://dashscope.aliyuncs.com/api/v1",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
    "us-east-1": "https://dashscope-us.aliyuncs.com/api/v1",
}

#: The region each documented API host serves (for picking a console when only the host is configured).
HOST_REGIONS: dict[str, str] = {
    "dashscope.aliyuncs.com": "cn-beijing",
    "dashscope-intl.aliyuncs.com": "ap-southeast-1",
    "dashscope-us.aliyuncs.com": "us-east-1",
    "cn-hongkong.dashscope.aliyuncs.com": "cn-hongkong",
}

#: The Model Studio console of each region (the international console serves regions without one of their own).
CONSOLE_ROOTS: dict[str, str] = {
    "cn-beijing": "https://bailian.console.aliyun.com/",
    "ap-southeast-1": "https://modelstudio.console.alibabacloud.com/",
    "us-east-1": "https://modelstudio.console.alibabacloud.com/us-east-1",
    "cn-hongkong": "https://modelstudio.console.alibabacloud.com/cn-hongkong",
}

#: A workspace's own API host: ``<workspace>.<region>.maas.aliyuncs.com``.
_WORKSPACE_HOST = re.compile(r"^[^.]+\.(?P<region>[a-z0-9-]+)\.maas\.aliyuncs\.com$")


def region_of(region: str | None, base_url: str | None) -> str | None:
    """The region a connection is in: its ``region`` field, else the region its API host serves (a documented host
    or a workspace host); ``None`` when neither says (a proxy, the local emulator)."""
    if region:
        return region.lower()
    host = (urlsplit(base_url).hostname or "").lower() if base_url else ""
    if host in HOST_REGIONS:
        return HOST_REGIONS[host]
    match = _WORKSPACE_HOST.match(host)
    return match.group("region") if match else None
