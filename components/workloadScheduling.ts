import * as k8s from "@pulumi/kubernetes";

// Plain values, so that the policy pack (policy/) reads the same facts without loading a provider.
/** The label every session GPU node carries; workloads select it. */
export const GPU_NODE_LABEL = { key: "streamspace.io/node-type", value: "gpu" } as const;
/** The taint every session GPU node carries, so that only pods that tolerate it land there. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;
/** The extended resource a container limits to get a GPU (advertised by the NVIDIA device plugin). */
export const GPU_RESOURCE = "nvidia.com/gpu";
/**
 * Kubernetes' own annotation naming a pod's main container. A session pod sets it to its session
 * container: kubectl logs/exec default to it, and the policy pack tells it from helpers beside it
 * (the TURN relay).
 */
export const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";

/**
 * What a workload needs to land on a session GPU node, exported by GpuNodePool so that the test
 * Deployment and StreamSpace Templates cannot get it wrong. For the `none` provider every field is
 * empty and `requestsGpu` is false: sessions run anywhere and encode in software.
 */
export interface WorkloadScheduling {
    /** Node labels a pod must select (`streamspace.io/node-type: gpu` on GPU pools). */
    nodeSelector: Record<string, string>;
    /** Tolerations for the GPU taint (`nvidia.com/gpu=true:NoSchedule`). */
    tolerations: k8s.types.input.core.v1.Toleration[];
    /** Whether pods request `nvidia.com/gpu: 1`. */
    requestsGpu: boolean;
    /** RuntimeClass to run under (`nvidia` on clusters whose containerd lacks it as default). */
    runtimeClassName?: string;
    /**
     * How sessions encode video: `nvenc` on GPUs with a hardware encoder, `software` otherwise
     * (no GPU, or a GPU pool the stack marked gpuSoftwareEncoding). Absent means `software`.
     */
    encoding?: "nvenc" | "software";
    /**
     * How long a workload should be allowed to become ready (Pulumi customTimeouts): a GPU node
     * scaled up from zero takes up to ~15 minutes before its GPU is allocatable.
     */
    readyTimeout?: string;
}

export const NO_GPU: WorkloadScheduling = { nodeSelector: {}, tolerations: [], requestsGpu: false, encoding: "software" };
