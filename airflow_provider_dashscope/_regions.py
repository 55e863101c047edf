"""API hosts and regions. No imports: provider discovery reads this while Airflow itself is still starting."""

DEFAULT_BASE_URL = "https://dashscope-intl.aliyuncs.com/api/v1"

#: Region shorthands for the documented API hosts.
REGIONS: dict[str, str] = {
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com/api/v1",
    "cn-beijing": "https://dashscope.aliyuncs.com/api/v1",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
    "us-east-1": "https://dashscope-us.aliyuncs.com/api/v1",
}
