import { badInput } from '../errors';

/** Region ids look like `us-east-1` or `cn-hangzhou`: lower-case words of letters and digits joined by `-`. */
const REGION_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const REGION_MAX = 32;

/** Whether `region` is a region id as it stands (no trimming). */
export const isRegion = (region: string): boolean => region.length > 0 && region.length <= REGION_MAX && REGION_PATTERN.test(region);

export function parseRegion(raw: string, field = 'region'): string {
  const region = raw.trim();
  if (!isRegion(region)) {
    throw badInput(field, `region must be 1 to ${REGION_MAX} lower-case letters, digits and single hyphens, e.g. us-east-1`);
  }
  return region;
}
