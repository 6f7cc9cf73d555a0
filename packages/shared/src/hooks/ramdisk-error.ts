import { HookFailure, type Hook } from './types.ts';

export const ramdiskError: Hook = {
  name: 'ramdisk_error',
  beforeProcessing(data) {
    if (data.error) throw new HookFailure(`Ramdisk reported error: ${data.error}`);
  },
};
