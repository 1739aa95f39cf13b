/**
 * Which GPU each cloud instance family or accelerator carries, and whether it has a hardware video
 * encoder (NVENC). Sessions stream video; on a GPU without NVENC they can only encode on the CPU,
 * so the pool refuses such hardware unless the stack says software encoding is intended.
 *
 * Types missing from these tables are accepted with a warning rather than refused: clouds add GPU
 * families faster than this table changes, and refusing an unknown type would block a valid pool.
 */
export interface GpuHardware {
    /** The GPU model, as a person would name it. */
    model: string;
    vendor: "nvidia" | "amd";
    /** Whether the GPU has NVENC (NVIDIA's hardware video encoder). */
    nvenc: boolean;
    /** Offered in error messages as an NVENC-capable choice. */
    suggested?: boolean;
    /** CPU architecture of the instance, when it is not x86_64. */
    arch?: "arm64";
}

/** EKS: instance family (the part of the instance type before the dot) → its GPU. */
export const EKS_INSTANCE_FAMILIES: Readonly<Record<string, GpuHardware>> = {
    g3: { model: "NVIDIA Tesla M60", vendor: "nvidia", nvenc: true },
    g3s: { model: "NVIDIA Tesla M60", vendor: "nvidia", nvenc: true },
    g4dn: { model: "NVIDIA T4", vendor: "nvidia", nvenc: true, suggested: true },
    g4ad: { model: "AMD Radeon Pro V520", vendor: "amd", nvenc: false },
    g5: { model: "NVIDIA A10G", vendor: "nvidia", nvenc: true, suggested: true },
    g5g: { model: "NVIDIA T4G", vendor: "nvidia", nvenc: true, arch: "arm64" },
    g6: { model: "NVIDIA L4", vendor: "nvidia", nvenc: true, suggested: true },
    gr6: { model: "NVIDIA L4", vendor: "nvidia", nvenc: true },
    g6e: { model: "NVIDIA L40S", vendor: "nvidia", nvenc: true, suggested: true },
    p3: { model: "NVIDIA V100", vendor: "nvidia", nvenc: true },
    p3dn: { model: "NVIDIA V100", vendor: "nvidia", nvenc: true },
    p4d: { model: "NVIDIA A100", vendor: "nvidia", nvenc: false },
    p4de: { model: "NVIDIA A100 80GB", vendor: "nvidia", nvenc: false },
    p5: { model: "NVIDIA H100", vendor: "nvidia", nvenc: false },
    p5e: { model: "NVIDIA H200", vendor: "nvidia", nvenc: false },
    p5en: { model: "NVIDIA H200", vendor: "nvidia", nvenc: false },
};

/** GKE: accelerator type → its GPU. */
export const GKE_ACCELERATORS: Readonly<Record<string, GpuHardware>> = {
    "nvidia-tesla-t4": { model: "NVIDIA T4", vendor: "nvidia", nvenc: true, suggested: true },
    "nvidia-l4": { model: "NVIDIA L4", vendor: "nvidia", nvenc: true, suggested: true },
    "nvidia-tesla-p4": { model: "NVIDIA P4", vendor: "nvidia", nvenc: true },
    "nvidia-tesla-p100": { model: "NVIDIA P100", vendor: "nvidia", nvenc: true },
    "nvidia-tesla-v100": { model: "NVIDIA V100", vendor: "nvidia", nvenc: true },
    "nvidia-rtx-pro-6000": { model: "NVIDIA RTX PRO 6000", vendor: "nvidia", nvenc: true },
    "nvidia-tesla-a100": { model: "NVIDIA A100 40GB", vendor: "nvidia", nvenc: false },
    "nvidia-a100-80gb": { model: "NVIDIA A100 80GB", vendor: "nvidia", nvenc: false },
    "nvidia-h100-80gb": { model: "NVIDIA H100", vendor: "nvidia", nvenc: false },
    "nvidia-h100-mega-80gb": { model: "NVIDIA H100 Mega", vendor: "nvidia", nvenc: false },
    "nvidia-h200-141gb": { model: "NVIDIA H200", vendor: "nvidia", nvenc: false },
};

/**
 * GKE: machine family (the part of the machine type before the first dash) → the accelerators it
 * can carry. Accelerator-optimized families come with their GPU; N1 takes attachable ones.
 */
export const GKE_MACHINE_FAMILIES: Readonly<Record<string, readonly string[]>> = {
    g2: ["nvidia-l4"],
    g4: ["nvidia-rtx-pro-6000"],
    n1: ["nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-tesla-p4", "nvidia-tesla-p100"],
    a2: ["nvidia-tesla-a100", "nvidia-a100-80gb"],
    a3: ["nvidia-h100-80gb", "nvidia-h100-mega-80gb", "nvidia-h200-141gb"],
};

/**
 * EC2 families known to carry no GPU at all: general purpose, compute, memory and burstable (the
 * letter before the generation says which: m, c, r, t, x, z, i, d, h, a). A GPU pool of one of
 * these never gets a GPU; refused, not merely warned about.
 */
export const EKS_FAMILIES_WITHOUT_GPU = /^(m|c|r|t|x|z|i|d|h|a|u)[1-9][a-z]*$/;

/**
 * GKE machine families known to carry no GPU (no accelerator attaches to them), the same idea.
 */
export const GKE_FAMILIES_WITHOUT_GPU: readonly string[] = ["e2", "n2", "n2d", "n4", "c2", "c2d", "c3", "c3d", "c4", "c4a", "c4d", "t2a", "t2d", "m1", "m2", "m3", "m4", "h3", "z3"];

/**
 * How many accelerators a GKE machine type comes with, where the type fixes it: g2 by size, a2/a3/g4
 * by the `-<n>g` suffix. N1 takes 1, 2, 4 or 8 attachable GPUs. Undefined: not known here.
 */
export function gkeAcceleratorCounts(machineType: string): readonly number[] | undefined {
    const family = gkeMachineFamily(machineType);
    const suffix = /-(\d+)g$/.exec(machineType);
    if (suffix && ["a2", "a3", "g4"].includes(family)) return [Number(suffix[1])];
    if (family === "g2") {
        const g2: Record<string, number> = {
            "g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1,
            "g2-standard-24": 2, "g2-standard-32": 1, "g2-standard-48": 4, "g2-standard-96": 8,
        };
        return g2[machineType] === undefined ? undefined : [g2[machineType]];
    }
    if (family === "n1") return [1, 2, 4, 8];
    return undefined;
}

export function eksInstanceFamily(instanceType: string): string {
    return instanceType.split(".")[0];
}

export function gkeMachineFamily(machineType: string): string {
    return machineType.split("-")[0];
}

/** The NVENC-capable choices offered when a type is refused, e.g. `g4dn (NVIDIA T4), g5 (NVIDIA A10G)`. */
export function nvencChoices(table: Readonly<Record<string, GpuHardware>>): string {
    return Object.entries(table)
        .filter(([, gpu]) => gpu.suggested)
        .map(([name, gpu]) => `${name} (${gpu.model})`)
        .join(", ");
}
