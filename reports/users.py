"""Users of the report application: ``audit.app_user``, scrypt password hashes, managed by admins.

A user is a ``department`` user (sees one department), an ``auditor`` (sees every department,
read-only) or an ``admin`` (manages users, sees no data). Passwords are hashed with scrypt
(memory-hard, stdlib ``hashlib.scrypt``) with a random salt per user; the parameters are stored
in the hash so they can be raised later. Every change is appended to the action log
(:func:`warehouse.actions.record_action`) in the same transaction, under the authenticated
identity that made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.actions import record_action
from warehouse.tables import AUDIT, table

ROLES = ("department", "auditor", "admin")
# scrypt cost: N=2**14, r=8 (16 MiB per hash) — OWASP's minimum recommendation for scrypt.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


@dataclass(frozen=True)
class User:
    """A report application user: name, role and (for a department user) its department."""
    username: str
    role: str
    department: str | None  # the department a department user sees; None for the others

    def sees(self, department: str) -> bool:
        """Whether this user may see ``department``'s data (admins see no data)."""
        if self.role == "auditor":
            return True
        return self.role == "department" and self.department == department


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return "$".join(("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()))


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                               r=int(r), p=int(p), maxmem=64 * 1024 * 1024, dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(found, expected)


def add_user(engine: sa.Engine, *, username: str, password: str, role: str,
             department: str | None, actor: str) -> User:
    """Create a user (``actor``: the authenticated identity doing it); logged in audit.action."""
    if not USERNAME.match(username):
        raise ValueError("a username is 2–64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "department") != bool(department):
        raise ValueError("a department user needs --department; other roles take none")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    users = table(AUDIT, "app_user")
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.username).where(users.c.username == username)
                        ).first():
            raise ValueError(f"user {username} exists")
        conn.execute(sa.insert(users).values(
            username=username, role=role, scope_department_code=department or None,
            password_hash=hash_password(password), is_active=True,
            created_at=datetime.now(UTC), created_by=actor))
        record_action(conn, actor=actor, action="user.add", target=f"user:{username}",
                      department_code=department or None,
                      detail={"role": role, "department": department or None})
    return User(username, role, department or None)


def authenticate(engine: sa.Engine, username: str, password: str) -> User | None:
    """The active user with this name and password, else None."""
    users = table(AUDIT, "app_user")
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings(
            ).first()
    if row is None:
        check_password(password, _DUMMY_HASH)  # same work whether or not the user exists
        return None
    if not row["is_active"] or not check_password(password, row["password_hash"]):
        return None
    return User(row["username"], row["role"], row["scope_department_code"])


def find_user(engine: sa.Engine, username: str) -> User | None:
    """The active user of a session (re-read each request, so a deactivation takes effect)."""
    users = table(AUDIT, "app_user")
    with engine.connect() as conn:
        row = conn.execute(sa.select(users.c.username, users.c.role,
                                     users.c.scope_department_code)
                           .where(users.c.username == username, users.c.is_active)).first()
    return User(*row) if row else None


def list_users(engine: sa.Engine) -> list[dict]:
    """Every user without the password hash, by name."""
    users = table(AUDIT, "app_user")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(users.c.username, users.c.role, users.c.scope_department_code,
                      users.c.is_active, users.c.created_at, users.c.created_by)
            .order_by(users.c.username)).mappings()]


_DUMMY_HASH = ("scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
