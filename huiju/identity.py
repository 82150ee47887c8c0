"""Who is acting: an identity the system authenticated, never a name someone typed.

The CLI acts as the operating-system account that runs it (the effective uid, looked up in
the password database rather than read from ``$USER``, which anyone can set), and names the
account that used ``sudo`` when there was one. An Airflow task acts as its DAG run. The web
application passes its logged-in user instead of calling this.
"""

from __future__ import annotations

import os
import pwd
import socket


def current_actor() -> str:
    """``airflow:<dag>/<run>`` inside an Airflow task, else ``os:<user>@<host>``."""
    dag, run = os.environ.get("AIRFLOW_CTX_DAG_ID"), os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
    if dag and run:
        return f"airflow:{dag}/{run}"
    user = pwd.getpwuid(os.geteuid()).pw_name
    sudo_uid = os.environ.get("SUDO_UID") if os.geteuid() == 0 else None
    if sudo_uid and sudo_uid.isdigit():  # only root can have been reached through sudo
        try:
            user = f"{user} (sudo by {pwd.getpwuid(int(sudo_uid)).pw_name})"
        except KeyError:
            user = f"{user} (sudo by uid {sudo_uid})"
    return f"os:{user}@{socket.gethostname()}"
