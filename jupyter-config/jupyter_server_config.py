# Jupyter settings for `./run lab` (lecture mode has its own, in tutorial_lib/lecture_voila and
# tutorial_lib.lecture.LECTURE_VOILA_SETTINGS): a start without warning blocks that a student
# would take for an error. `./run` adds this folder to JUPYTER_CONFIG_PATH, so your own settings in
# ~/.jupyter still win; by hand: JUPYTER_CONFIG_PATH=jupyter-config jupyter lab notebooks/
# Each setting removes the cause of one warning (tests/test_run_script.py checks the whole start):
import zmq

c = get_config()  # noqa: F821 (Jupyter runs this file with get_config defined)

# "Kernel is running over TCP without encryption" (ipykernel, once per kernel): encrypt instead.
# The kernel provisioner hands each kernel CurveZMQ keys when its kernelspec declares support
# (ipykernel's does). A pyzmq without CurveZMQ would refuse the setting, so it is asked for only
# where it is there (pip's and conda-forge's pyzmq have it).
if zmq.has("curve"):
    c.KernelManager.transport_encryption = "auto"

# "DeprecationWarning: ServerApp.token config is deprecated": notebook_shim, the bridge for the
# classic Notebook's server extensions and NotebookApp.* settings, reads every ServerApp setting
# to copy them, the deprecated token among them. The course uses no classic extension; the token
# itself is IdentityProvider.token (set or generated as usual).
c.ServerApp.jpserver_extensions = {"notebook_shim": False}

# "The websocket_ping_timeout (90000) cannot be longer than the websocket_ping_interval (30000)"
# (tornado >= 6.5, on the first kernel connection): jupyter_server's keep-alive pings give tornado
# milliseconds where it expects seconds, and its own timeout must exceed the interval while
# tornado's must not (jupyter_server issue 1612). No value satisfies both, so the pings are off:
# they find connections that died without closing (VPNs, proxies), which a browser on this
# machine does not have; a closed tab or a reload closes its connections at once.
c.ServerApp.tornado_settings = {"ws_ping_interval": 0}

# "Notebook ... is not trusted": `./run lab` signs the course's notebooks (`jupyter trust`, the
# supported way) before the server starts; nothing to set here.
