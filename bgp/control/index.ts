/** bgp/control: the control API of margay-bgpd (HTTP over a unix socket): client, routes, server. */
export { ControlClient, ControlClientError, controlRequest, DEFAULT_CONTROL_SOCKET } from './client.js';
export { routeControlRequest, type ControlHandler, type ControlResponse } from './routes.js';
export { ControlSocketError, startControlServer, type ControlServer } from './server.js';
