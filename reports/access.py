"""Sessions, CSRF and who may see what: the application's trust boundary in one place.

A session is a cookie signed with the server's secret (itsdangerous), holding the user name
and the session's CSRF token; it expires ``max_age`` seconds after login whatever happens. The
user is read again from ``audit.app_user`` on every request, so a deactivated user is out at
once. Every state-changing form carries the CSRF token, compared in constant time.

Department boundary: a route that names a department answers 404 (not 403: it does not confirm
that another department exists) unless the user :meth:`~reports.users.User.sees` it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from reports.users import User, find_user

SESSION_COOKIE = "huiju_session"
LOGIN_COOKIE = "huiju_login"  # the CSRF token of the login form, before any session
SESSION_SECONDS = 30 * 60


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, API routes answer 401."""


class Sessions:
    """Signs and reads session and login-form cookies with one secret."""

    def __init__(self, secret: str, max_age: int = SESSION_SECONDS) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret needs at least 32 characters")
        self.max_age = max_age
        self._session = URLSafeTimedSerializer(secret, salt="huiju-session")
        self._login = URLSafeTimedSerializer(secret, salt="huiju-login")

    def issue(self, username: str) -> str:
        """A signed session cookie for ``username``."""
        return self._session.dumps({"u": username, "c": secrets.token_urlsafe(24)})

    def read(self, cookie: str | None) -> dict | None:
        """The session a cookie carries, or None when missing, forged or expired."""
        if not cookie:
            return None
        try:
            return self._session.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired, its subclass
            return None

    def login_token(self) -> tuple[str, str]:
        """(token for the form, cookie that vouches for it)."""
        token = secrets.token_urlsafe(24)
        return token, self._login.dumps(token)

    def login_token_ok(self, cookie: str | None, token: str) -> bool:
        """Whether a form's CSRF token matches the one issued with the login page."""
        if not cookie or not token:
            return False
        try:
            expected = self._login.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return False
        return hmac.compare_digest(str(expected), token)


def current_user(request: Request) -> User:
    """The logged-in user of ``request`` (with ``request.state.csrf`` set), or LoginRequired."""
    app = request.app
    session = app.state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if not session:
        raise LoginRequired
    user = find_user(app.state.engine, session["u"])
    if user is None:
        raise LoginRequired
    request.state.csrf = session["c"]
    return user


def check_csrf(request: Request, token: str) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    expected = getattr(request.state, "csrf", None)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def require_department(user: User, department: str) -> None:
    """404 unless ``user`` may see ``department``."""
    if not user.sees(department):
        raise HTTPException(status_code=404, detail="not found")


def require_role(user: User, *roles: str) -> None:
    """Refuse (403) a user whose role is not one of ``roles``."""
    if user.role not in roles:
        raise HTTPException(status_code=403, detail="not allowed for this role")
