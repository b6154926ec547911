"""Whole-node power from a BMC's Redfish service: HTTP GET of a Chassis Power resource,
PowerControl[].PowerConsumedWatts (or, on BMCs that dropped the Power resource deprecated in Redfish 2020.4, the
Chassis EnvironmentMetrics resource, PowerWatts.Reading), sampled once a second and integrated.

The URL may name the power resource itself (https://bmc/redfish/v1/Chassis/1/Power) or anything above it (the
service root, the Chassis collection, one Chassis): links are followed once, at start, to the first chassis's
power; where the collection holds several chassis the reading's detail says which one was taken.
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .reading import NODE
from .source import PowerSource

URL_ENV = "HASHBENCH_REDFISH_URL"
USER_ENV = "HASHBENCH_REDFISH_USER"
PASSWORD_ENV = "HASHBENCH_REDFISH_PASSWORD"
INSECURE_ENV = "HASHBENCH_REDFISH_INSECURE"  # "1": accept the self-signed certificate most BMCs ship with
INTERVAL_S = 1.0
TIMEOUT_S = 5.0


class RedfishUnavailable(Exception):
    """No usable Redfish power reading; the message says why in one line."""


def parse_power(doc: object) -> tuple[float, str]:
    """(watts, which entry) from a Redfish Power resource, or from an EnvironmentMetrics resource (PowerWatts)."""
    if isinstance(doc, dict):
        controls = doc.get("PowerControl")
        if isinstance(controls, list):
            # The first entry is the chassis total on every BMC seen; later ones (when present) are parts of it.
            for i, control in enumerate(controls):
                watts = control.get("PowerConsumedWatts") if isinstance(control, dict) else None
                if isinstance(watts, (int, float)) and not isinstance(watts, bool) and math.isfinite(watts):
                    name = control.get("Name") or control.get("MemberId") or str(i)
                    return float(watts), f"PowerControl[{i}] ({name})"
        reading = doc.get("PowerWatts")
        if isinstance(reading, dict) and isinstance(reading.get("Reading"), (int, float)) \
                and not isinstance(reading.get("Reading"), bool) and math.isfinite(reading["Reading"]):
            return float(reading["Reading"]), "PowerWatts.Reading"
        if (isinstance(controls, list) and controls) or isinstance(reading, dict):
            raise NoPowerReading("the power resource is there but holds no number (PowerConsumedWatts or "
                                 "PowerWatts.Reading is null): the BMC measures no power now (node powered off, or no "
                                 "power sensor)")
    raise ValueError("no PowerControl[].PowerConsumedWatts or PowerWatts.Reading in the resource")


class NoPowerReading(ValueError):
    """A power resource whose reading is null: found, but nothing to read in it."""


def _next_link(doc: dict) -> tuple[str, list[str]] | None:
    """One step from a service root / Chassis collection / Chassis towards its power: (link, every member the step
    chose among; [] where there was no choice)."""
    for key in ("Power", "EnvironmentMetrics", "Chassis"):
        link = doc.get(key)
        if isinstance(link, dict) and isinstance(link.get("@odata.id"), str):
            return link["@odata.id"], []
    members = doc.get("Members")
    if isinstance(members, list):
        links = [m["@odata.id"] for m in members if isinstance(m, dict) and isinstance(m.get("@odata.id"), str)]
        if links:
            return links[0], links if len(links) > 1 else []
    return None


class RedfishClient:
    def __init__(self, url: str, user: str | None = None, password: str | None = None, *, verify_tls: bool = True,
                 timeout_s: float = TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RedfishUnavailable(f"Redfish URL {url!r} is not an http(s) URL")
        if parts.username is not None or parts.password is not None:  # the URL goes into messages and result files
            raise RedfishUnavailable(f"the Redfish URL holds credentials: give the host alone ({parts.hostname}) and "
                                     f"the login in {USER_ENV} and {PASSWORD_ENV}")
        self.url = url
        self.timeout_s = timeout_s
        self._headers = {"Accept": "application/json", "OData-Version": "4.0"}
        if user is not None:
            # Sent on the first request: many BMCs answer 401 without a challenge, so urllib's handshake never starts.
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._ssl = None
        self.verified = parts.scheme == "https" and verify_tls  # said in the reading's detail when it is not
        if parts.scheme == "https" and not verify_tls:
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE

    def get(self, url: str | None = None) -> object:
        url = urllib.parse.urljoin(self.url, url) if url else self.url
        request = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=self._ssl) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise RedfishUnavailable(f"{url}: credentials rejected (HTTP {exc.code}); set {USER_ENV} and "
                                         f"{PASSWORD_ENV}") from None
            raise RedfishUnavailable(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise RedfishUnavailable(f"{url}: TLS certificate not trusted ({reason.verify_message}); set "
                                         f"{INSECURE_ENV}=1 to accept the BMC's own certificate") from None
            raise RedfishUnavailable(f"cannot reach {url}: {reason}") from None
        except (TimeoutError, OSError) as exc:
            raise RedfishUnavailable(f"cannot reach {url}: {exc}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise RedfishUnavailable(f"{url}: the answer is not JSON") from None

    def find_power(self) -> tuple[str, str]:
        """(URL of the first power resource at or below self.url, which reading in it, and which of several chassis
        where the collection listed more than one)."""
        url, chosen, others = self.url, "", ""
        try:
            for _ in range(6):
                doc = self.get(url)
                try:
                    _, which = parse_power(doc)
                    return url, which + (f" ({chosen})" if chosen else "")
                except NoPowerReading as exc:
                    raise RedfishUnavailable(f"{url}: {exc}") from None
                except ValueError:
                    pass
                step = _next_link(doc) if isinstance(doc, dict) else None
                if step is None:
                    break
                link, among = step
                if among:
                    chosen = f"the first of {len(among)} chassis listed; name another in {URL_ENV}"
                    named = [urllib.parse.urljoin(self.url, m) for m in among[1:]]
                    more = f" and {len(named) - 4} more" if len(named) > 4 else ""
                    others = (f"; only the first of the {len(among)} chassis listed at {url} was tried, name another "
                              f"in {URL_ENV}: {', '.join(named[:4])}{more}")
                url = urllib.parse.urljoin(self.url, link)
            raise RedfishUnavailable(f"{self.url}: no PowerControl[].PowerConsumedWatts or EnvironmentMetrics "
                                     f"PowerWatts found (give the URL of a Chassis Power resource, e.g. "
                                     f"https://BMC/redfish/v1/Chassis/1/Power)")
        except RedfishUnavailable as exc:
            if not others:
                raise
            raise RedfishUnavailable(f"{exc}{others}") from None


class RedfishSource(PowerSource):
    name = "redfish"
    layer = NODE
    interval_s = INTERVAL_S

    def __init__(self, client: RedfishClient) -> None:
        self.client = client
        self.power_url, which = client.find_power()  # a reading was parsed there: the source works
        trust = "" if client.verified else (
            f"; TLS certificate not verified ({INSECURE_ENV}=1)" if client.url.startswith("https")
            else "; plain HTTP, not authenticated by TLS")
        self.detail = f"Redfish {self.power_url} {which}{trust}"

    def read_watts(self) -> float:
        doc = self.client.get(self.power_url)
        try:
            return parse_power(doc)[0]
        except ValueError as exc:
            raise RedfishUnavailable(f"{self.power_url}: {exc}") from None

    def window_flags(self, window_s: float) -> list[str]:
        if window_s < 10 * self.interval_s:
            return [f"node power sampled once a second: a {window_s:.1f} s window holds few BMC readings"]
        return []
