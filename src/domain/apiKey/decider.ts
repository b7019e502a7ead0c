import type { Decider } from '../decider';
import type { ApiKeyCommand } from './commands';
import { decide } from './decide';
import type { ApiKeyEvent } from './events';
import type { ApiKeyState } from './state';
import { evolve, initialState } from './state';

/** One key's stream: `apiKey-<id>`. */
export const apiKeyDecider: Decider<ApiKeyState, ApiKeyCommand, ApiKeyEvent> = { decide, evolve, initialState };
