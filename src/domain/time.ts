/** An instant in UTC as ISO-8601 with milliseconds (`Date.prototype.toISOString`), the form events store. */
export type Instant = string;

export const toInstant = (date: Date | number): Instant => new Date(date).toISOString();
