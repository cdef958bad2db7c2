"""HTTPS simulators of SSM On-Prem and vManage (the lab of sdwan_ops.license_sync)."""
