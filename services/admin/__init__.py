"""``trackcc-admin``: the operator's command line (provisioning, migrations, support staff)."""
