/** A connection string fit for logs and messages: the password replaced. */
export const redactCredentials = (url: string): string => url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
