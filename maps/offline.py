"""The grid worker's map offline (离线地图): the service worker script and what sign-out clears.

A service worker served by the app at /maps/sw.js (scope /maps/) precaches the map shell and
keeps the last good copy of the worker page and of /maps/data/worker, network first. The cache
names live here so the service worker, the worker page and the sign-in page agree on them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

SERVICE_WORKER_URL = "/maps/sw.js"
SCOPE = "/maps/"
CACHE_PREFIX = "gisgrid-"
# One cache for everything personal (households are personal data), so sign-out is one delete.
PERSONAL_CACHE = "gisgrid-worker-data"
PERSONAL_PATHS = ("/maps/worker", "/maps/data/worker")
# Read by the worker page when a case or household is opened: their last copy serves offline
# (GET only; what the phone sends goes through its own queue, never through this cache).
PERSONAL_PREFIXES = ("/api/v1/reports/", "/api/v1/households/")
# A sign-out made without network is finished later: its mark lives in this cache.
SIGNOUT_CACHE = "gisgrid-signout-pending"
SIGNOUT_URL = "/logout"
# Set by the service worker on stored copies: the server time the copy was fetched.
FETCHED_HEADER = "X-Gisgrid-Fetched"
# On a weak link, show the last copy after this long without an answer.
NETWORK_WAIT_MS = 8000

_PLACEHOLDER = "{/* filled by maps.offline */}"
OFFLINE_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>离线 · offline</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
</style></head><body><h1>离线</h1><p>这台手机上没有这张网格图的副本：联网时打开一次即可离线使用。</p>
<p>Offline, and this phone has no copy of this map: open it once online to use it offline.</p>
</body></html>"""


def service_worker(assets: Mapping[str, bytes]) -> str:
    """The service worker script precaching these shell assets (URL -> bytes), versioned by them."""
    template = resources.files("maps").joinpath("templates/sw.js").read_text(encoding="utf-8")
    if _PLACEHOLDER not in template:
        raise RuntimeError(f"maps/templates/sw.js lost its config placeholder {_PLACEHOLDER!r}")
    # The browser installs a new worker when the script's bytes change: a changed asset must
    # change the script, so the version hashes the template and every asset.
    digest = hashlib.sha256(template.encode())
    for url in sorted(assets):
        digest.update(url.encode() + b"\0" + hashlib.sha256(assets[url]).digest())
    version = digest.hexdigest()[:12]
    config = {
        "version": version,
        "prefix": CACHE_PREFIX,
        "shellCache": f"{CACHE_PREFIX}shell-{version}",
        "personalCache": PERSONAL_CACHE,
        "personal": list(PERSONAL_PATHS),
        "personalPrefixes": list(PERSONAL_PREFIXES),
        "signoutCache": SIGNOUT_CACHE,
        "signoutUrl": SIGNOUT_URL,
        "precache": sorted(assets),
        "fetchedHeader": FETCHED_HEADER,
        "networkWaitMs": NETWORK_WAIT_MS,
        "offlinePage": OFFLINE_PAGE,
    }
    return template.replace(_PLACEHOLDER, json.dumps(config, ensure_ascii=False), 1)


def page_config() -> dict[str, Any]:
    """What the worker page's script needs to register the service worker and clear its copy."""
    return {
        "serviceWorker": SERVICE_WORKER_URL,
        "scope": SCOPE,
        "personalCache": PERSONAL_CACHE,
        "signoutCache": SIGNOUT_CACHE,
        "signoutUrl": SIGNOUT_URL,
        "fetchedHeader": FETCHED_HEADER,
    }


def forget_script() -> str:
    """A script for the sign-in page: a new sign-in starts without anyone's stored grid data."""
    # localStorage "gisgrid:" keys are copies older versions of the worker page left behind.
    # A sign-out made offline is finished here, before anyone signs in: the old cookie goes
    # with this request, so the server ends that session, not the next one.
    pending, url = json.dumps(SIGNOUT_CACHE), json.dumps(SIGNOUT_URL)
    return (
        "<script>(function(){try{"
        f"if(window.caches){{caches.delete({json.dumps(PERSONAL_CACHE)});"
        f"caches.has({pending}).then(function(p){{if(p)return fetch({url},"
        '{method:"POST",credentials:"same-origin",redirect:"manual"})'
        f".then(function(){{return caches.delete({pending});}});}});}}"
        "for(var i=localStorage.length-1;i>=0;i--){var k=localStorage.key(i);"
        'if(k&&k.indexOf("gisgrid:")===0)localStorage.removeItem(k);}'
        "}catch(e){}})();</script>"
    )
