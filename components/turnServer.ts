import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImagePort } from "../catalog";
import * as random from "@pulumi/random";
import { restrictedContainerSecurity } from "./podSecurity";

/** User name of the relay's single long-term credential. */
export const TURN_USERNAME = "streamspace";
/** Relay ports coturn allocates for peers: a small range is plenty for one test session. */
export const TURN_RELAY_PORTS = { min: 49160, max: 49200 };

/**
 * The relay's listening port, from the coturn image's metadata (images/coturn/image.yaml): coturn
 * listens on one port for TCP (what a port-forward carries) and UDP, so the metadata must name
 * both, with the same number.
 */
export function turnPort(ports: readonly ImagePort[]): number {
    const tcp = ports.find((p) => p.protocol === "TCP");
    const udp = ports.find((p) => p.protocol === "UDP");
    if (!tcp || !udp || tcp.port !== udp.port) {
        throw new Error(
            `the coturn image's metadata must name one port for TCP and UDP alike (coturn listens on both), got: ${ports.map((p) => `${p.port}/${p.protocol}`).join(", ") || "none"}`,
        );
    }
    return tcp.port;
}

export interface TurnServerArgs {
    /** Namespace the relay runs in. */
    namespace: pulumi.Input<string>;
    /** The coturn image, by digest. */
    image: pulumi.Input<string>;
    /** Its listening port, TCP and UDP (turnPort of its metadata). */
    port: number;
    /** Labels shared by every resource of the owner (the relay adds its own component label). */
    labels: Record<string, string>;
    /** Labels of the session pod the relay's container is added to (its Service selects them). */
    sessionLabels: Record<string, string>;
}

/** Name of the relay's container in the session pod, and of its scratch volume. */
export const TURN_CONTAINER = "turn";
const TURN_TMP_VOLUME = "turn-tmp";

/**
 * The relay's container. It runs in the session pod, so that the session's own addresses, which
 * the pod knows, are the only peers it lets through: every viewer's browser gets the credential,
 * and a relay that reached further would open the cluster network (and the metadata endpoints) to
 * all of them.
 */
export function turnContainer(image: pulumi.Input<string>, secretName: pulumi.Input<string>, port: number): k8s.types.input.core.v1.Container {
    const fromSecret = (key: string): k8s.types.input.core.v1.EnvVarSource => ({ secretKeyRef: { name: secretName, key } });
    const podIps: k8s.types.input.core.v1.EnvVarSource = { fieldRef: { fieldPath: "status.podIPs" } };
    return {
        name: TURN_CONTAINER,
        image,
        imagePullPolicy: "IfNotPresent",
        env: [
            { name: "TURN_USERNAME", valueFrom: fromSecret("username") },
            { name: "TURN_PASSWORD", valueFrom: fromSecret("password") },
            { name: "TURN_REALM", value: "streamspace" },
            { name: "TURN_PORT", value: String(port) },
            { name: "TURN_MIN_PORT", value: String(TURN_RELAY_PORTS.min) },
            { name: "TURN_MAX_PORT", value: String(TURN_RELAY_PORTS.max) },
            // Relay on the pod's addresses (IPv4 and IPv6 on a dual-stack cluster), and to them only.
            { name: "TURN_RELAY_IP", valueFrom: podIps },
            { name: "TURN_ALLOWED_PEER_IPS", valueFrom: podIps },
        ],
        ports: [
            { name: "turn-tcp", containerPort: port, protocol: "TCP" },
            { name: "turn-udp", containerPort: port, protocol: "UDP" },
        ],
        readinessProbe: { tcpSocket: { port }, periodSeconds: 5, failureThreshold: 3 },
        livenessProbe: { tcpSocket: { port }, periodSeconds: 20, failureThreshold: 3 },
        resources: {
            requests: { cpu: "50m", memory: "64Mi" },
            limits: { cpu: "1", memory: "256Mi" },
        },
        // The start script writes the configuration under /tmp only.
        securityContext: { ...restrictedContainerSecurity, readOnlyRootFilesystem: true },
        volumeMounts: [{ name: TURN_TMP_VOLUME, mountPath: "/tmp" }],
    };
}

/**
 * A TURN relay (coturn) for one test session. WebRTC media cannot cross `kubectl port-forward`
 * (it forwards TCP only, and the browser would try UDP to pod addresses it cannot reach); with the
 * relay's TCP port forwarded to the person's machine, the browser reaches the session through it.
 * The relay is a container of the session pod (`container`, `volume`); this component keeps its
 * credential, generated once, kept in state and handed to both sides through a Secret, and the
 * Service a person port-forwards.
 */
export class TurnServer extends pulumi.ComponentResource {
    /** Name of the Service a person port-forwards. */
    public readonly serviceName: pulumi.Output<string>;
    /** Secret holding `username` and `password` of the relay. */
    public readonly secretName: pulumi.Output<string>;
    public readonly port: number;
    /** The relay's container and its scratch volume, for the session pod. */
    public readonly container: k8s.types.input.core.v1.Container;
    public readonly volume: k8s.types.input.core.v1.Volume = { name: TURN_TMP_VOLUME, emptyDir: { sizeLimit: "64Mi" } };
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: TurnServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:sessionTest:TurnServer", name, {}, opts);
        const labels = { ...args.labels, "app.kubernetes.io/component": "turn" };

        // No special characters: the password ends up in coturn's `user=` line and in ICE URLs.
        const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const secret = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { name: "turn-credentials", namespace: args.namespace, labels },
                type: "Opaque",
                stringData: pulumi.secret({ username: TURN_USERNAME, password: password.result }),
            },
            { parent: this },
        );
        this.secretName = secret.metadata.name;
        this.port = args.port;
        this.container = turnContainer(args.image, this.secretName, args.port);

        this.service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: "turn", namespace: args.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector: args.sessionLabels,
                    ports: [
                        { name: "turn-tcp", port: args.port, targetPort: "turn-tcp", protocol: "TCP" },
                        { name: "turn-udp", port: args.port, targetPort: "turn-udp", protocol: "UDP" },
                    ],
                },
            },
            { parent: this },
        );
        this.serviceName = this.service.metadata.name;

        this.registerOutputs({ serviceName: this.serviceName, secretName: this.secretName });
    }
}
