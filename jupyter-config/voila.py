# Voila's settings for `./run lecture` (Voila reads voila.py, not jupyter_server_config.py): the lecture
# pages' kernels get CurveZMQ keys, as in jupyter_server_config.py, instead of the warning
# "Kernel is running over TCP without encryption" on every page load.
import zmq

c = get_config()  # noqa: F821 (Voila runs this file with get_config defined)

if zmq.has("curve"):
    c.KernelManager.transport_encryption = "auto"

# Voila's own web server: the keep-alive pings off, for the reason given in jupyter_server_config.py
# (tornado's "websocket_ping_timeout cannot be longer than the websocket_ping_interval" warning).
c.Voila.tornado_settings = {"ws_ping_interval": 0}
