/**
 * The StreamSpace image standard as data: the one place the ports, environment defaults, labels
 * and health check timings live. The Dockerfile checker, its tests and the tables of
 * images/README.md (checked by a test) all read it.
 */

export interface StandardPort {
    port: number;
    name: string;
    protocol: string;
    description: string;
}

export interface StandardEnv {
    name: string;
    /** Default baked into every image; undefined when the variable has no default (it is required or optional). */
    default?: string;
    description: string;
}

/** Ports every session image exposes. */
export const STANDARD_PORTS: readonly StandardPort[] = [
    { port: 8080, name: "selkies", protocol: "Selkies (HTTP + WebSocket)", description: "Primary: the web client, the stream (WebSockets, or WebRTC signalling) and `/health`, behind basic auth" },
    { port: 3000, name: "web", protocol: "Selkies (HTTP + WebSocket), same as 8080", description: "The same session on the port StreamSpace and LinuxServer's Selkies images use" },
    { port: 5900, name: "vnc", protocol: "VNC (RFB)", description: "Fallback: password-protected VNC" },
    { port: 6080, name: "novnc", protocol: "noVNC (HTTP + WebSocket)", description: "Fallback: VNC in the browser, same password" },
];

/** Environment variables every image understands, with the defaults every image sets by ENV. */
export const STANDARD_ENV: readonly StandardEnv[] = [
    { name: "DISPLAY_WIDTH", default: "1920", description: "Screen width in pixels (640 to 7680)" },
    { name: "DISPLAY_HEIGHT", default: "1080", description: "Screen height in pixels (480 to 4320)" },
    { name: "DISPLAY_DPI", default: "96", description: "Screen resolution in dots per inch (48 to 480)" },
    { name: "PUID", default: "1000", description: "User id the session runs as when the container starts as root (not 0)" },
    { name: "PGID", default: "1000", description: "Group id the session runs as when the container starts as root (not 0)" },
    { name: "TZ", default: "UTC", description: "Time zone, an IANA name such as Europe/Berlin; unknown names fall back to UTC with a warning" },
];

/** Variables of the Selkies runtime (selkies-base and every image on it). */
export const SELKIES_ENV: readonly StandardEnv[] = [
    { name: "SELKIES_MODE", default: "websockets", description: "`websockets`: the stream over the web port's WebSocket (no TURN; the browser needs HTTPS or localhost). `webrtc`: WebRTC media, which needs your TURN server (`SELKIES_TURN_*`); without one the image refuses to start" },
    { name: "SELKIES_ENCODER", default: "auto", description: "`auto`: H.264 (`h264enc`) with NVENC when the GPU has an encoder, else VA-API when a render node encodes H.264, else x264 with `SELKIES_USE_CPU=true`; any other encoder Selkies knows (`h264enc`, `h264enc-striped`, `openh264enc`, `jpeg`) is used as given" },
    { name: "SELKIES_ENABLE_BASIC_AUTH", default: "true", description: "Selkies' basic auth on ports 8080 and 3000; `false` turns it off (then `/` is open to anyone who reaches the ports)" },
    { name: "SELKIES_BASIC_AUTH_USER", default: "user", description: "Basic auth user name" },
    { name: "SELKIES_BASIC_AUTH_PASSWORD", description: "Basic auth password; required unless basic auth is off. Pass it from a Kubernetes Secret" },
    { name: "SELKIES_BASIC_AUTH_PASSWORD_FILE", description: "A file holding the password instead (a mounted Secret); set at most one of the two" },
    { name: "VNC_PASSWORD", description: "VNC and noVNC password; defaults to the basic auth password (VNC uses only its first 8 characters)" },
    { name: "SELKIES_TURN_HOST", description: "TURN server of `SELKIES_MODE=webrtc` (with `SELKIES_TURN_PORT`, `_PROTOCOL`, `_USERNAME`, `_PASSWORD` or `_SHARED_SECRET`); STUN defaults to it" },
    { name: "NVIDIA_DRIVER_CAPABILITIES", default: "compute,utility,video,graphics", description: "What the NVIDIA container toolkit mounts: `video` for NVENC, `graphics` for OpenGL" },
];

/** OCI labels every Dockerfile sets, each from the build argument of the same suffix (see catalog buildArgs). */
export const REQUIRED_LABELS: readonly { label: string; arg: string }[] = [
    "title",
    "description",
    "version",
    "revision",
    "created",
    "source",
    "url",
    "documentation",
    "vendor",
    "licenses",
].map((suffix) => ({ label: `org.opencontainers.image.${suffix}`, arg: `OCI_${suffix.toUpperCase()}` }));

/** The HEALTHCHECK options every image uses, exactly. */
export const HEALTHCHECK_OPTIONS: Readonly<Record<string, string>> = {
    interval: "30s",
    timeout: "10s",
    "start-period": "30s",
    retries: "3",
};

/** The health endpoint: unauthenticated, on the primary port. */
export const HEALTH_PATH = "/health";
