export * from './bmc-credentials.ts';
export * from './bmc-error.ts';
export * from './bmc-queue.ts';
export * from './ipmitool-commands.ts';
export * from './ipmitool.ts';
export * from './run-ipmitool.ts';
