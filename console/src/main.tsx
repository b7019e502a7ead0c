import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { ConsoleOptions } from './App';
import { App } from './App';
import './styles.css';

/**
 * Mounts the console into an element. keyhub's own page mounts it into #keyhub-console; a
 * platform embedding it calls window.keyhubConsole.mount(element, { getToken, graphqlUrl }).
 */
export function mount(element: HTMLElement, options: ConsoleOptions = {}): { unmount: () => void } {
  const root = createRoot(element);
  root.render(
    <StrictMode>
      <App {...options} />
    </StrictMode>,
  );
  return { unmount: () => root.unmount() };
}

declare global {
  interface Window {
    keyhubConsole?: { mount: typeof mount };
  }
}

window.keyhubConsole = { mount };
const own = document.getElementById('keyhub-console');
if (own && own.dataset['embedded'] === undefined) mount(own);
