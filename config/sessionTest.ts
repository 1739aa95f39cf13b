import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Catalog } from "../catalog";
import { parseCidr } from "./cidr";
import { boolean, integer, quantityValue, stringList, text } from "./fields";
import { Problem } from "./problems";
import { SectionContext, defineSection } from "./section";

/** The catalog image that proves a session streams (images/stream-probe). */
export const PROBE_IMAGE = "stream-probe";
/** The catalog image of the TURN relay a WebRTC test session streams through (images/coturn). */
export const TURN_IMAGE = "coturn";

/** How the test session streams: Selkies' SELKIES_MODE. */
export const SESSION_TRANSPORTS = ["websockets", "webrtc"] as const;
export type SessionTransport = (typeof SESSION_TRANSPORTS)[number];

export interface SessionTestConfig {
    enabled: boolean;
    /** Catalog name of the image deployed and probed. */
    image: string;
    /** Namespace holding every resource of the test session. */
    namespace: string;
    /** Basic-auth user of the session's web client. */
    user: string;
    /** Basic-auth password from the stack config; undefined means one is generated and kept. */
    password?: pulumi.Output<string>;
    display: { width: number; height: number; dpi: number };
    /** Size of the memory-backed /dev/shm (Chrome shares its rendered frames through it). */
    shmSize: string;
    resources: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string };
    /** Selkies' transport; webrtc also deploys the TURN relay the media goes through. */
    transport: SessionTransport;
    /** screenshotLog: also print the probe's screenshot into the Job's log, where it outlives the pod. */
    probe: { seconds: number; minFps: number; screenshotLog: boolean };
    /** How long the Deployment may take to become available (a GPU node from zero included). */
    timeoutMinutes: number;
    /** Private address ranges (CIDR) the session may reach; every other private range is closed to it. */
    allowedPrivateEgress: string[];
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An IPv4 or IPv6 network in CIDR notation, as a NetworkPolicy's ipBlock takes it (config/cidr.ts). */
export function isCidr(value: string): boolean {
    return typeof parseCidr(value) !== "string";
}

/** A Kubernetes quantity that must be greater than zero; says so plainly when it is negative. */
function positiveQuantity() {
    return text().superRefine((value, ctx) => {
        const v = value.trim();
        if (v.startsWith("-")) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must not be negative; use a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi" });
        } else if (!/^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(v)) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi" });
        } else if (quantityValue(v) <= 0) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be greater than zero" });
        }
    });
}

export const sessionTestSection = defineSection({
    keys: {
        sessionTestEnabled: boolean().default(true),
        sessionTestImage: text().default("chrome-selkies"),
        sessionTestNamespace: text().default("streamspace-session-test"),
        sessionTestUser: text().default("user"),
        sessionTestPassword: text().optional(),
        sessionTestDisplayWidth: integer({ min: 640, max: 7680 }).default(1920),
        sessionTestDisplayHeight: integer({ min: 480, max: 4320 }).default(1080),
        sessionTestDisplayDpi: integer({ min: 48, max: 480 }).default(96),
        sessionTestShmSize: positiveQuantity().default("2Gi"),
        sessionTestCpuRequest: positiveQuantity().default("1"),
        sessionTestCpuLimit: positiveQuantity().default("4"),
        sessionTestMemoryRequest: positiveQuantity().default("2Gi"),
        sessionTestMemoryLimit: positiveQuantity().default("8Gi"),
        sessionTestTransport: text().default("websockets"),
        sessionTestProbeSeconds: integer({ min: 5, max: 600 }).default(20),
        sessionTestProbeMinFps: integer({ min: 1, max: 240 }).default(10),
        sessionTestProbeScreenshotLog: boolean().default(false),
        sessionTestTimeoutMinutes: integer({ min: 5, max: 180 }).default(20),
        sessionTestAllowedPrivateEgress: stringList(text()).default([]),
    },
    examples: {
        sessionTestEnabled: "true",
        sessionTestImage: "chrome-selkies",
        sessionTestNamespace: "streamspace-session-test",
        sessionTestUser: "user",
        sessionTestPassword: "\"$(openssl rand -base64 24)\"",
        sessionTestDisplayWidth: "1920",
        sessionTestDisplayHeight: "1080",
        sessionTestDisplayDpi: "96",
        sessionTestShmSize: "2Gi",
        sessionTestCpuRequest: "1",
        sessionTestCpuLimit: "4",
        sessionTestMemoryRequest: "2Gi",
        sessionTestMemoryLimit: "8Gi",
        sessionTestTransport: "webrtc",
        sessionTestProbeSeconds: "20",
        sessionTestProbeMinFps: "10",
        sessionTestProbeScreenshotLog: "true",
        sessionTestTimeoutMinutes: "20",
        sessionTestAllowedPrivateEgress: "[10.20.0.0/16]",
    },
    secretKeys: ["sessionTestPassword"],
    // Keys without a default are not declared in Pulumi.yaml (Pulumi requires every declared key
    // without a default on every stack); their descriptions live here.
    descriptions: {
        sessionTestPassword: "Basic-auth (and VNC) password of the test session. Unset generates one, kept across updates; read it with 'pulumi stack output sessionPassword --show-secrets'.",
    },
    build(v, ctx): SessionTestConfig {
        const config = sessionTestConfig(v);
        // A disabled test creates nothing: nothing else of the section can be wrong.
        if (!config.enabled) return config;

        checkSessionTestNames(v, ctx);
        checkSessionTestAccess(v, config, ctx);
        checkSessionTestDisplay(v, ctx);
        checkSessionTestResources(v, config, ctx);
        return config;
    },
});

/** The section's values as read from the stack config, before its checks. */
type SessionTestValues = z.infer<z.ZodObject<(typeof sessionTestSection)["keys"]>>;

/** The typed section from its values: quantities trimmed, an unknown transport read as websockets. */
function sessionTestConfig(v: SessionTestValues): SessionTestConfig {
    return {
        enabled: v.sessionTestEnabled,
        image: v.sessionTestImage,
        namespace: v.sessionTestNamespace,
        user: v.sessionTestUser,
        password: v.sessionTestPassword ? pulumi.secret(v.sessionTestPassword) : undefined,
        display: { width: v.sessionTestDisplayWidth, height: v.sessionTestDisplayHeight, dpi: v.sessionTestDisplayDpi },
        shmSize: v.sessionTestShmSize.trim(),
        resources: {
            cpuRequest: v.sessionTestCpuRequest.trim(),
            cpuLimit: v.sessionTestCpuLimit.trim(),
            memoryRequest: v.sessionTestMemoryRequest.trim(),
            memoryLimit: v.sessionTestMemoryLimit.trim(),
        },
        transport: (SESSION_TRANSPORTS as readonly string[]).includes(v.sessionTestTransport) ? (v.sessionTestTransport as SessionTransport) : "websockets",
        probe: { seconds: v.sessionTestProbeSeconds, minFps: v.sessionTestProbeMinFps, screenshotLog: v.sessionTestProbeScreenshotLog },
        timeoutMinutes: v.sessionTestTimeoutMinutes,
        allowedPrivateEgress: v.sessionTestAllowedPrivateEgress.map((c) => c.trim()),
    };
}

/** The transport is one Selkies knows, the image is in the catalog, the namespace is a valid name. */
function checkSessionTestNames(v: SessionTestValues, ctx: SectionContext): void {
    if (!(SESSION_TRANSPORTS as readonly string[]).includes(v.sessionTestTransport)) {
        const lower = v.sessionTestTransport.trim().toLowerCase();
        ctx.problem({
            key: "sessionTestTransport",
            value: v.sessionTestTransport,
            message: `expected ${SESSION_TRANSPORTS.join(" or ")}`,
            fix: ctx.setCommand("sessionTestTransport", (SESSION_TRANSPORTS as readonly string[]).includes(lower) ? lower : "websockets"),
        });
    }
    if (!ctx.imageNames.includes(v.sessionTestImage)) {
        ctx.problem({
            key: "sessionTestImage",
            value: v.sessionTestImage,
            message: `unknown image; the catalog has: ${ctx.imageNames.join(", ")}`,
            // Never a fix that is itself refused: chrome-selkies only where the catalog has it.
            fix: ctx.imageNames.includes("chrome-selkies")
                ? ctx.setCommand("sessionTestImage", "chrome-selkies")
                : `${ctx.setCommand("sessionTestImage", `<one of: ${ctx.imageNames.join(", ")}>`)}  (or: pulumi config set sessionTestEnabled false --stack ${ctx.stack})`,
        });
    }
    if (!dnsLabel.test(v.sessionTestNamespace)) {
        ctx.problem({
            key: "sessionTestNamespace",
            value: v.sessionTestNamespace,
            message: "not a Kubernetes namespace name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit",
            fix: ctx.setCommand("sessionTestNamespace", v.sessionTestNamespace.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "streamspace-session-test"),
        });
    }
}

/** Who may reach the session and what it may reach: the basic-auth user and password, the private egress ranges. */
function checkSessionTestAccess(v: SessionTestValues, config: SessionTestConfig, ctx: SectionContext): void {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(v.sessionTestUser)) {
        ctx.problem({
            key: "sessionTestUser",
            value: v.sessionTestUser,
            message: "a basic-auth user name: 1 to 32 letters, digits, '.', '_' or '-' (no ':' or spaces)",
        });
    }
    if (v.sessionTestPassword !== undefined && v.sessionTestPassword.length < 12) {
        ctx.problem({
            key: "sessionTestPassword",
            value: v.sessionTestPassword,
            message: "too short: use at least 12 characters, or remove the key and a password is generated",
            fix: `${ctx.setCommand("sessionTestPassword")}  (or: pulumi config rm sessionTestPassword --stack ${ctx.stack})`,
        });
    }
    const notCidrs = config.allowedPrivateEgress.filter((c) => !isCidr(c));
    if (notCidrs.length > 0) {
        ctx.problem({
            key: "sessionTestAllowedPrivateEgress",
            value: v.sessionTestAllowedPrivateEgress,
            message: `${notCidrs.map((c) => `'${c}'`).join(", ")}: expected networks in CIDR notation, such as 10.20.0.0/16 or fd12:3456::/48 (${notCidrs.map((c) => `${c} ${parseCidr(c)}`).join("; ")})`,
            fix: `pulumi config set --path 'sessionTestAllowedPrivateEgress[0]' 10.20.0.0/16 --stack ${ctx.stack}`,
        });
    }
}

/** H.264 with 4:2:0 chroma, what every encoder Selkies picks produces, needs even dimensions. */
function checkSessionTestDisplay(v: SessionTestValues, ctx: SectionContext): void {
    for (const [key, value] of [
        ["sessionTestDisplayWidth", v.sessionTestDisplayWidth],
        ["sessionTestDisplayHeight", v.sessionTestDisplayHeight],
    ] as const) {
        if (value % 2 !== 0) {
            ctx.problem({
                key,
                value: String(value),
                message: "the video encoders need an even number of pixels",
                fix: ctx.setCommand(key, String(value + 1)),
            });
        }
    }
}

/** /dev/shm is large enough yet fits in the memory limit, and no request exceeds its limit. */
function checkSessionTestResources(v: SessionTestValues, config: SessionTestConfig, ctx: SectionContext): void {
    const shm = quantityValue(config.shmSize);
    const memoryLimit = quantityValue(config.resources.memoryLimit);
    if (shm < 64 * 2 ** 20) {
        ctx.problem({
            key: "sessionTestShmSize",
            value: v.sessionTestShmSize,
            message: "at least 64Mi: Chrome and the X server share frames through /dev/shm and crash on less",
            fix: ctx.setCommand("sessionTestShmSize", "2Gi"),
        });
    } else if (shm >= memoryLimit) {
        // A memory-backed emptyDir is charged to the container's memory limit.
        ctx.problem({
            key: "sessionTestShmSize",
            value: v.sessionTestShmSize,
            message: `/dev/shm lives in memory and counts against the memory limit (sessionTestMemoryLimit = ${config.resources.memoryLimit}); it must be smaller than that limit`,
            fix: ctx.setCommand("sessionTestShmSize", "2Gi"),
        });
    }
    const pairs = [
        ["sessionTestCpuRequest", "sessionTestCpuLimit", config.resources.cpuRequest, config.resources.cpuLimit],
        ["sessionTestMemoryRequest", "sessionTestMemoryLimit", config.resources.memoryRequest, config.resources.memoryLimit],
    ] as const;
    for (const [requestKey, limitKey, request, limit] of pairs) {
        if (quantityValue(request) > quantityValue(limit)) {
            ctx.problem({
                key: requestKey,
                value: request,
                message: `the request is larger than the limit (${limitKey} = ${limit}); Kubernetes rejects such a pod`,
                fix: ctx.setCommand(requestKey, limit),
            });
        }
    }
}

/** The catalog images a stack must build for its session test: the session, the probe and the relay. */
export function sessionTestImages(c: SessionTestConfig): string[] {
    if (!c.enabled) return [];
    return [c.image, PROBE_IMAGE, ...(usesTurn(c) ? [TURN_IMAGE] : [])];
}

/**
 * The names to build: those asked for, plus the session test's images when some were asked for
 * (an empty list already means every image).
 */
export function withSessionTestImages(selected: readonly string[], c: SessionTestConfig): string[] {
    if (selected.length === 0) return [];
    return [...new Set([...selected, ...sessionTestImages(c)])];
}

/**
 * Checks that need the catalog and the stack's selection: the probed image must stream with
 * Selkies (the probe speaks its WebRTC protocol), and every image the test needs must be built.
 */
export function sessionTestCatalogProblems(
    c: SessionTestConfig,
    catalog: Catalog,
    built: readonly string[],
    stack: string,
): Problem[] {
    if (!c.enabled) return [];
    const problems: Problem[] = [];
    const image = catalog.images.find((i) => i.name === c.image);
    const selkies = catalog.images.filter((i) => i.kind === "session" && i.streamingProtocol === "selkies").map((i) => i.name);
    if (image && (image.kind !== "session" || image.streamingProtocol !== "selkies")) {
        problems.push({
            key: "sessionTestImage",
            value: c.image,
            message: `the probe speaks Selkies' WebRTC protocol, but '${c.image}' is ${image.kind === "session" ? `a session image streaming with ${image.streamingProtocol}` : `a ${image.kind} image`} (${image.metadataFile}); images it can probe: ${selkies.join(", ") || "none"}`,
            fix: `pulumi config set sessionTestImage ${selkies.includes("chrome-selkies") ? "chrome-selkies" : (selkies[0] ?? "chrome-selkies")} --stack ${stack}  (or: pulumi config set sessionTestEnabled false --stack ${stack})`,
        });
    }
    for (const name of sessionTestImages(c)) {
        if (!catalog.images.some((i) => i.name === name)) {
            if (name !== c.image) {
                problems.push({
                    key: "sessionTestEnabled",
                    value: "true",
                    message: `the session test needs the catalog image '${name}', which is missing from images/`,
                    fix: `pulumi config set sessionTestEnabled false --stack ${stack}`,
                });
            }
        } else if (!built.includes(name)) {
            problems.push({
                key: "sessionTestEnabled",
                value: "true",
                message: `the session test needs the image '${name}', but this stack does not build it for its platform (${catalog.get(name).platforms.join(", ")} only)`,
                fix: `pulumi config set imagePlatform linux/amd64 --stack ${stack}  (or: pulumi config set sessionTestEnabled false --stack ${stack})`,
            });
        }
    }
    return problems;
}

/** A WebRTC test session needs the TURN relay; a WebSockets one streams over its web port alone. */
export function usesTurn(c: SessionTestConfig): boolean {
    return c.transport === "webrtc";
}
