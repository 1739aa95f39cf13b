import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./podSecurity";

/** The TURN port, TCP and UDP (coturn's default, and what the watch instructions forward). */
export const TURN_PORT = 3478;
/** User name of the relay's single long-term credential. */
export const TURN_USERNAME = "streamspace";
/** Relay ports coturn allocates for peers: a small range is plenty for one test session. */
export const TURN_RELAY_PORTS = { min: 49160, max: 49200 };

export interface TurnServerArgs {
    /** Namespace the relay runs in. */
    namespace: pulumi.Input<string>;
    /** The coturn image, by digest. */
    image: pulumi.Input<string>;
    /** Labels shared by every resource of the owner (the relay adds its own component label). */
    labels: Record<string, string>;
}

/**
 * A TURN relay (coturn) for one test session. WebRTC media cannot cross `kubectl port-forward`
 * (it forwards TCP only, and the browser would try UDP to pod addresses it cannot reach); with the
 * relay's TCP port forwarded to the person's machine, the browser reaches the session through it.
 * The credential is generated once, kept in state and handed to both sides through a Secret.
 */
export class TurnServer extends pulumi.ComponentResource {
    /** Name of the Service a person port-forwards. */
    public readonly serviceName: pulumi.Output<string>;
    /** Secret holding `username` and `password` of the relay. */
    public readonly secretName: pulumi.Output<string>;
    public readonly port = TURN_PORT;
    public readonly deployment: k8s.apps.v1.Deployment;
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

        const fromSecret = (key: string): k8s.types.input.core.v1.EnvVarSource => ({
            secretKeyRef: { name: secret.metadata.name, key },
        });
        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { name: "turn", namespace: args.namespace, labels },
                spec: {
                    replicas: 1,
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: restrictedPodSecurity,
                            terminationGracePeriodSeconds: 10,
                            containers: [
                                {
                                    name: "coturn",
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    env: [
                                        { name: "TURN_USERNAME", valueFrom: fromSecret("username") },
                                        { name: "TURN_PASSWORD", valueFrom: fromSecret("password") },
                                        { name: "TURN_REALM", value: "streamspace" },
                                        { name: "TURN_PORT", value: String(TURN_PORT) },
                                        { name: "TURN_MIN_PORT", value: String(TURN_RELAY_PORTS.min) },
                                        { name: "TURN_MAX_PORT", value: String(TURN_RELAY_PORTS.max) },
                                        // Relay on the pod address, which the session's pod can reach.
                                        { name: "TURN_RELAY_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                                    ],
                                    ports: [
                                        { name: "turn-tcp", containerPort: TURN_PORT, protocol: "TCP" },
                                        { name: "turn-udp", containerPort: TURN_PORT, protocol: "UDP" },
                                    ],
                                    readinessProbe: { tcpSocket: { port: TURN_PORT }, periodSeconds: 5, failureThreshold: 3 },
                                    livenessProbe: { tcpSocket: { port: TURN_PORT }, periodSeconds: 20, failureThreshold: 3 },
                                    resources: {
                                        requests: { cpu: "50m", memory: "64Mi" },
                                        limits: { cpu: "1", memory: "256Mi" },
                                    },
                                    // The start script writes the configuration under /tmp only.
                                    securityContext: { ...restrictedContainerSecurity, readOnlyRootFilesystem: true },
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                },
                            ],
                            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
                        },
                    },
                },
            },
            { parent: this },
        );

        this.service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: "turn", namespace: args.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector: labels,
                    ports: [
                        { name: "turn-tcp", port: TURN_PORT, targetPort: "turn-tcp", protocol: "TCP" },
                        { name: "turn-udp", port: TURN_PORT, targetPort: "turn-udp", protocol: "UDP" },
                    ],
                },
            },
            { parent: this, dependsOn: [this.deployment] },
        );
        this.serviceName = this.service.metadata.name;

        this.registerOutputs({ serviceName: this.serviceName, secretName: this.secretName });
    }
}
