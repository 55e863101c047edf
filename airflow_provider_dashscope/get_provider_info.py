"""Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_dashscope._regions import DEFAULT_BASE_URL, REGIONS

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"host": "API base URL", "password": "API key"},
    "placeholders": {
        "host": DEFAULT_BASE_URL,
        "password": "sk-...",
        "region": "ap-southeast-1",
        "workspace": "llm-xxxxxxxx (optional)",
    },
}


def get_provider_info() -> dict[str, Any]:

    return {
        "package-name": "airflow-provider-dashscope",
        "name": "DashScope (Alibaba Cloud Model Studio)",
        "description": (
            "Upload training data, run and wait on fine-tune jobs, deploy their models, report on them and schedule "
            "DAGs on their ends: Alibaba Cloud Model Studio (DashScope)."
        ),
        "integrations": [
            {
                "integration-name": "DashScope (Alibaba Cloud Model Studio)",
                "external-doc-url": "https://www.alibabacloud.com/help/en/model-studio/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "DashScope (Alibaba Cloud Model Studio)",
                "python-modules": ["airflow_provider_dashscope.hooks.dashscope"],
            }
        ],
        "operators": [
            {
                "integration-name": "DashScope (Alibaba Cloud Model Studio)",
                "python-modules": [
                    "airflow_provider_dashscope.operators.fine_tunes",
                    "airflow_provider_dashscope.operators.files",
                    "airflow_provider_dashscope.operators.deployments",
                    "airflow_provider_dashscope.operators.checkpoints",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "DashScope (Alibaba Cloud Model Studio)",
                "python-modules": [
                    "airflow_provider_dashscope.sensors.fine_tunes",
                    "airflow_provider_dashscope.sensors.deployments",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "DashScope (Alibaba Cloud Model Studio)",
                "python-modules": [
                    "airflow_provider_dashscope.triggers.base",
                    "airflow_provider_dashscope.triggers.fine_tunes",
                    "airflow_provider_dashscope.triggers.deployments",
                    "airflow_provider_dashscope.triggers.checkpoints",
                    "airflow_provider_dashscope.triggers.events",
                ],
            }
        ],
        "extra-links": [
            "airflow_provider_dashscope.links.DashScopeFineTuneJobLink",
            "airflow_provider_dashscope.links.DashScopeDeploymentLink",
        ],
        # dashscope://<region>/models/<finetuned_output> and .../deployments/<deployed_model> (see assets.py);
        # "dataset-uris" is the same for Airflow 2.
        "asset-uris": [{"schemes": ["dashscope"], "handler": "airflow_provider_dashscope.assets.normalize_uri"}],
        "dataset-uris": [{"schemes": ["dashscope"], "handler": "airflow_provider_dashscope.assets.normalize_uri"}],
        "config": {
            "dashscope": {
                "description": "Settings of the DashScope (Model Studio) provider.",
                "options": {
                    "training_progress_every_polls": {
                        "description": "While a fine-tune job is RUNNING, a wait reads the new lines of its training "
                        "log at most once every this many polls (deferrable and worker-side waits alike), to log "
                        "its progress. Turn the progress lines off per task with log_training_progress=False.",
                        "version_added": None,
                        "type": "integer",
                        "example": "5",
                        "default": "10",
                    },
                },
            },
        },
        "connection-types": [
            {
                "connection-type": "dashscope",
                "hook-class-name": "airflow_provider_dashscope.hooks.dashscope.DashScopeHook",
                "hook-name": "DashScope (Model Studio)",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "Shorthand for the API host when Host is empty.",
                        "schema": {"type": ["string", "null"], "enum": [*sorted(REGIONS), None]},
                    },
                    "workspace": {
                        "label": "Workspace ID",
                        "description": "Sent as the X-DashScope-WorkSpace header.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "schema": {"type": ["number", "null"], "minimum": 1, "default": 60},
                    },
                    "ca_bundle": {
                        "label": "CA bundle (path)",
                        "description": "A PEM file of certificate authorities to trust (a private CA or a proxy's).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "verify": {
                        "label": "Verify TLS certificates",
                        "description": "Leave on; turning it off sends the key to whoever answers (warned in logs).",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of a transient failure (429, 5xx, network) after the first attempt.",
                        "schema": {"type": ["integer", "null"], "minimum": 0, "default": 4},
                    },
                },
            }
        ],
    }
