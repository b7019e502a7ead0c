import { useState } from 'react';
import type { ApiError } from '../apiErrors';
import { useT } from '../i18n';
import type { FormField, KeyFormValues } from '../keyForm';
import { changedFields, formProblems, serverFieldOf, visibleErrors } from '../keyForm';

/** Shared state of the dialogs that edit fields: values, what was touched, the server's last error. */
export function useKeyForm(initial: KeyFormValues, fields: readonly FormField[]) {
  const t = useT();
  const [values, setValues] = useState(initial);
  const [touched, setTouched] = useState<Set<FormField> | 'all'>(new Set());
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const problems = formProblems(values, fields, t);
  return {
    values,
    problems,
    serverError,
    setServerError,
    errors: visibleErrors(problems, touched, serverError),
    onChange: (next: KeyFormValues) => {
      const changed = changedFields(values, next);
      setTouched((before) => (before === 'all' ? before : new Set([...before, ...changed])));
      // The server's complaint about a field goes once that field is edited.
      if (serverError && changed.includes(serverFieldOf(serverError) as FormField)) setServerError(null);
      setValues(next);
    },
    reset: (next: KeyFormValues) => {
      setValues(next);
      setServerError(null);
    },
    /** True when the form may be sent; otherwise shows every problem and focuses the first. */
    validate: (form: HTMLFormElement | null): boolean => {
      if (Object.keys(problems).length === 0) return true;
      setTouched('all');
      requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return false;
    },
  };
}
