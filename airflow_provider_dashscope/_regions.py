"""API hosts, regions and console pages. No imports: provider discovery reads this while Airflow is starting."""

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
