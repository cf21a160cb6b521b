// agent/kube/: the only code that talks to an API server. See README.md.
export { conditionsEqual, mergeConditions, rfc3339Seconds, type Condition, type DesiredCondition } from './conditions.ts';
export { EventRecorder, eventObject, type EventNote, type EventRecorderDeps, type EventRegarding } from './event-recorder.ts';
export { Controller, TerminalError, type ControllerOptions, type ReconcileContext, type Reconciler, type Result } from './controller.ts';
export { InformerRegistry, type ComponentInformers, type InformerRegistryDeps } from './informer-registry.ts';
export { Informer, listWatchFactory, type InformerEvent, type ListWatchFactory, type ListWatchLike, type ObjectHandler } from './informer.ts';
export { FIELD_MANAGER, HttpKubeApi, isNotFound, statusOf, type KubeApi, type ListOptions, type ObjectRef } from './kube-api.ts';
export { keyOf, objectKey, parseKey, type ParsedKey } from './object-key.ts';
export * from './resources.ts';
export { StatusWriter, jsonEqual, type WithStatus } from './status-writer.ts';
export { WorkQueue, type WorkQueueOptions } from './work-queue.ts';
export { kubeAccess, type KubeAccess } from './kube-access.ts';
