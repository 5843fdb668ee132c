"""A client of a real JupyterHub and of its users' servers, for the classroom tier.

Everything goes through the hub's proxy, as a browser's requests do: the hub's REST API
with an admin token (make a user's token, start and stop their server, and wait for it
with the hub's progress event stream), and each user's own server with *that user's* token
(the contents API, kernels and their websocket channels, nbgrader's assignment handlers).
:meth:`Server.run_notebook` executes a notebook cell by cell in a kernel of the user's
server, exactly as JupyterLab's Run All asks it to, and keeps every output.
"""
import asyncio
import datetime
import json
import time
import uuid
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

AsyncHTTPClient.configure(None, max_clients=64)

#: {what: seconds}, printed at the end of the tier's pytest run (conftest.py)
TIMINGS = {}


def timed(name, seconds):
    TIMINGS[name] = round(seconds, 1)


class HubError(RuntimeError):
    pass


async def _fetch(url, token, method="GET", body=None, timeout=120, raw=False):
    headers = {"Authorization": "token " + token}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    if method == "POST" and body is None:
        body = b""
    request = HTTPRequest(url, method=method, headers=headers, body=body,
                          request_timeout=timeout, connect_timeout=30)
    try:
        response = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as err:
        text = err.response.body.decode(errors="replace")[:500] if err.response else ""
        raise HubError("%s %s: %s %s" % (method, url, err.code, text)) from None
    if raw:
        return response.body
    return json.loads(response.body) if response.body else None


class Hub:
    """The hub at ``url`` (the proxy's public URL), driven with an admin token."""

    def __init__(self, url, admin_token):
        self.url, self.token = url.rstrip("/"), admin_token

    async def api(self, method, path, body=None, timeout=120):
        return await _fetch(self.url + "/hub/api" + path, self.token, method, body, timeout)

    async def add_user(self, name):
        """Make ``name`` a user of the hub (a PAM account is one only after its first
        login); nothing if it is one already."""
        try:
            await self.api("POST", "/users/%s" % name)
        except HubError as err:
            if ": 409 " not in str(err):
                raise

    async def user_token(self, name):
        """A new API token of ``name`` itself (what that user's browser session holds)."""
        await self.add_user(name)
        reply = await self.api("POST", "/users/%s/tokens" % name,
                               {"note": "classroom tier", "expires_in": 7200})
        return reply["token"]

    async def start_server(self, name, deadline=600):
        """Start ``name``'s server and wait for the hub's progress stream to say ready.

        Returns the seconds it took."""
        start = time.monotonic()
        await self.api("POST", "/users/%s/server" % name)
        # the hub's own event stream (text/event-stream): one event per step, the last ready
        ready = asyncio.get_running_loop().create_future()
        buffer = []

        def on_chunk(chunk):
            buffer.append(chunk.decode())
            for line in "".join(buffer).splitlines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("ready") and not ready.done():
                        ready.set_result(event)
                    elif event.get("failed") and not ready.done():
                        ready.set_exception(HubError("%s's server failed: %s"
                                                     % (name, event.get("message"))))
        request = HTTPRequest(self.url + "/hub/api/users/%s/server/progress" % name,
                              headers={"Authorization": "token " + self.token},
                              streaming_callback=on_chunk, request_timeout=deadline)
        fetch = asyncio.ensure_future(AsyncHTTPClient().fetch(request, raise_error=False))
        try:
            await asyncio.wait_for(asyncio.shield(ready), deadline)
        finally:
            fetch.cancel()
        return time.monotonic() - start

    async def stop_server(self, name, deadline=300):
        """Stop ``name``'s server; wait until the hub says it has stopped."""
        await self.api("DELETE", "/users/%s/server" % name)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            user = await self.api("GET", "/users/%s" % name)
            if not user["servers"]:
                return
            await asyncio.sleep(0.5)  # the hub has no event for "stopped": ask it again
        raise HubError("%s's server did not stop in %d s" % (name, deadline))

    def server(self, name, token):
        return Server(self.url + "/user/%s" % name, name, token)


class CellResult:
    def __init__(self, index, source, outputs, seconds, allowed_error):
        self.index, self.source, self.outputs = index, source, outputs
        self.seconds, self.allowed_error = seconds, allowed_error

    def errors(self):
        if self.allowed_error:
            return []
        return ["cell %d raised %s: %s" % (self.index, o["ename"], o["evalue"])
                for o in self.outputs if o["output_type"] == "error"]

    def stderr(self):
        return "".join(o["text"] for o in self.outputs
                       if o["output_type"] == "stream" and o["name"] == "stderr")


class Kernel:
    """A kernel of a user's server, over its websocket channels."""

    def __init__(self, server, kernel_id, session_id):
        self.server, self.id, self.session_id = server, kernel_id, session_id
        self.ws = None
        self.pending = {}

    async def connect(self):
        url = self.server.url.replace("http", "ws", 1) + "/api/kernels/%s/channels" % self.id
        request = HTTPRequest(url + "?session_id=" + self.session_id,
                              headers={"Authorization": "token " + self.server.token},
                              connect_timeout=60, request_timeout=60)
        self.ws = await websocket_connect(request, max_message_size=256 * 1024 * 1024)
        self.reader = asyncio.ensure_future(self._read())
        await self.execute("pass", timeout=300)  # the kernel is up once it answers

    async def _read(self):
        while True:
            text = await self.ws.read_message()
            if text is None:
                for waiter in self.pending.values():
                    if not waiter["done"].done():
                        waiter["done"].set_exception(HubError("the kernel's channel closed"))
                return
            msg = json.loads(text)
            parent = msg.get("parent_header", {}).get("msg_id")
            waiter = self.pending.get(parent)
            if waiter is None:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if msg["channel"] == "iopub":
                if kind == "stream":
                    waiter["outputs"].append({"output_type": "stream", "name": content["name"],
                                              "text": content["text"]})
                elif kind in ("display_data", "execute_result"):
                    output = {"output_type": kind, "data": content["data"],
                              "metadata": content.get("metadata", {})}
                    if kind == "execute_result":
                        output["execution_count"] = content.get("execution_count")
                    waiter["outputs"].append(output)
                elif kind == "error":
                    waiter["outputs"].append({"output_type": "error",
                                              "ename": content["ename"],
                                              "evalue": content["evalue"],
                                              "traceback": content["traceback"]})
                elif kind == "status" and content["execution_state"] == "idle":
                    waiter["idle"] = True
            elif msg["channel"] == "shell" and kind == "execute_reply":
                waiter["reply"] = content
            if waiter.get("idle") and "reply" in waiter and not waiter["done"].done():
                waiter["done"].set_result(None)

    async def execute(self, code, timeout=600):
        """Run ``code``; its outputs (nbformat-like dicts). Waits for the kernel's reply and
        its idle status (the events), up to ``timeout`` seconds."""
        msg_id = uuid.uuid4().hex
        waiter = {"outputs": [], "done": asyncio.get_running_loop().create_future()}
        self.pending[msg_id] = waiter
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        await self.ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username":
                       self.server.user, "session": self.session_id, "date": now,
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False,
                        "stop_on_error": False}}))
        try:
            await asyncio.wait_for(waiter["done"], timeout)
        except asyncio.TimeoutError:
            raise HubError("%s: a cell did not finish in %d s:\n%s"
                           % (self.server.user, timeout, code[:300])) from None
        finally:
            self.pending.pop(msg_id, None)
        return waiter["outputs"]

    async def value(self, code, timeout=600):
        """Run ``code``, which prints one JSON document; that document."""
        outputs = await self.execute(code, timeout)
        errors = [o for o in outputs if o["output_type"] == "error"]
        if errors:
            raise HubError("%s: %s: %s" % (self.server.user, errors[0]["ename"],
                                           errors[0]["evalue"]))
        text = "".join(o["text"] for o in outputs if o["output_type"] == "stream"
                       and o["name"] == "stdout")
        return json.loads(text)

    async def close(self):
        if self.ws is not None:
            self.ws.close()
            self.reader.cancel()


class Server:
    """A user's single-user server, through the hub's proxy, with that user's token."""

    def __init__(self, url, user, token):
        self.url, self.user, self.token = url, user, token

    async def api(self, method, path, body=None, timeout=120):
        return await _fetch(self.url + "/api" + path, self.token, method, body, timeout)

    async def post(self, path, body, timeout=300):
        """POST to one of the server's own handlers (nbgrader's /assignments/...)."""
        return await _fetch(self.url + path, self.token, "POST", body, timeout)

    async def get(self, path, timeout=120):
        return await _fetch(self.url + path, self.token, "GET", None, timeout)

    async def contents(self, path, content=True):
        return await self.api("GET", "/contents/%s?content=%d" % (quote(path), int(content)))

    async def save(self, path, nb):
        await self.api("PUT", "/contents/%s" % quote(path),
                       {"type": "notebook", "format": "json", "content": nb})

    async def kernel(self, path):
        """A kernel for the notebook at ``path`` (started in its folder, as JupyterLab does)."""
        session = await self.api("POST", "/sessions", {"path": path, "type": "notebook",
                                                       "name": path.rsplit("/", 1)[-1],
                                                       "kernel": {"name": "python3"}})
        kernel = Kernel(self, session["kernel"]["id"], session["id"])
        await kernel.connect()
        return kernel

    async def close_kernel(self, kernel):
        await kernel.close()
        await self.api("DELETE", "/sessions/%s" % kernel.session_id)

    async def run_notebook(self, path, cell_timeout=600):
        """Execute every code cell of the notebook at ``path`` in a new kernel, in order;
        ``(notebook with outputs, [CellResult])``. The kernel is shut down after."""
        nb = (await self.contents(path))["content"]
        kernel = await self.kernel(path)
        results = []
        try:
            for index, cell in enumerate(nb["cells"]):
                if cell["cell_type"] != "code":
                    continue
                source = cell["source"] if isinstance(cell["source"], str) \
                    else "".join(cell["source"])
                start = time.monotonic()
                outputs = await kernel.execute(source, cell_timeout)
                cell["outputs"] = outputs
                tags = cell.get("metadata", {}).get("tags", [])
                results.append(CellResult(index, source, outputs, time.monotonic() - start,
                                          "raises-exception" in tags))
        finally:
            await self.close_kernel(kernel)
        return nb, results
