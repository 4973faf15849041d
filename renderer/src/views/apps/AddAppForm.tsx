import { cloneElement, useId, useState, type FormEvent, type ReactElement, type ReactNode } from 'react';
import { addAppInputSchema, type AddAppInput } from '../../../../shared/api.js';
import { request } from '../../state/store.js';
import { HelpLink } from '../../ui/HelpLink.js';
import type { AddedApp } from './AppChecks.js';

/**
 * Add the firm's own Xero app: what to copy from Xero's developer portal (My Apps → your app →
 * Configuration), checked here with the same rules main uses and then by main itself, with every message
 * next to the field it is about.
 */

interface Fields {
  name: string;
  clientId: string;
  authType: 'pkce' | 'web';
  clientSecret: string;
  ports: string;
  scopes: string;
  cap: string;
  multiOrgConsent: boolean;
  createdBy: string;
  /** Empty for Xero itself; the address of a Xero sandbox to try Relink without a real organisation. */
  issuer: string;
}

type FieldName = keyof Fields;
type Errors = Partial<Record<FieldName | 'form', string>>;

const START: Fields = {
  name: '',
  clientId: '',
  authType: 'pkce',
  clientSecret: '',
  ports: '5001, 5002, 5003',
  scopes: 'accounting.settings.read',
  cap: '',
  multiOrgConsent: true,
  createdBy: '',
  issuer: '',
};

/** Where main's schema names a field, which input shows it. */
const SCHEMA_FIELD: Record<string, FieldName> = {
  name: 'name',
  clientId: 'clientId',
  authType: 'authType',
  redirectPorts: 'ports',
  scopes: 'scopes',
  connectionCap: 'cap',
  multiOrgConsent: 'multiOrgConsent',
  createdBy: 'createdBy',
  issuer: 'issuer',
};

/** Main's messages are sentences; send each to the field it is about when it says so. */
function fieldForMessage(message: string): FieldName | 'form' {
  const m = message.toLowerCase();
  if (m.includes('secret')) return 'clientSecret';
  if (m.includes('client id')) return 'clientId';
  if (m.includes('port')) return 'ports';
  if (m.includes('scope')) return 'scopes';
  if (m.includes('name')) return 'name';
  return 'form';
}

function toInput(f: Fields): { input: AddAppInput | null; errors: Errors } {
  const errors: Errors = {};
  const ports = f.ports
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => Number(p));
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1024 || p > 65_535)) {
    errors.ports = 'Enter port numbers between 1024 and 65535, separated by commas (for example 5001, 5002).';
  }
  const scopes = f.scopes.split(/[\s,]+/).filter(Boolean);
  const cap = f.cap.trim() === '' ? null : Number(f.cap);
  if (cap !== null && (!Number.isInteger(cap) || cap < 0)) errors.cap = 'Enter a whole number, or leave it empty if there is no limit.';
  if (f.authType === 'web' && !f.clientSecret.trim()) {
    errors.clientSecret = 'A web app needs its client secret (Configuration → Generate a secret).';
  }
  const candidate = {
    name: f.name,
    clientId: f.clientId,
    authType: f.authType,
    redirectPorts: ports,
    ...(scopes.length ? { scopes } : {}),
    connectionCap: cap,
    multiOrgConsent: f.multiOrgConsent,
    createdBy: f.createdBy.trim() || null,
    ...(f.issuer.trim() ? { issuer: f.issuer.trim().replace(/\/+$/, '') } : {}),
  };
  const parsed = addAppInputSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = SCHEMA_FIELD[String(issue.path[0])] ?? 'form';
      errors[field] ??= issue.message;
    }
  }
  return { input: parsed.success && Object.keys(errors).length === 0 ? parsed.data : null, errors };
}

export function AddAppForm({ onAdded, onCancel }: { onAdded: (app: AddedApp) => void; onCancel?: () => void }) {
  const [fields, setFields] = useState<Fields>(START);
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const id = useId();
  const set = <K extends FieldName>(key: K, value: Fields[K]) => {
    setFields((f) => ({ ...f, [key]: value }));
    if (errors[key]) setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { input, errors: found } = toInput(fields);
    setErrors(found);
    if (!input) {
      focusFirstError(id, found);
      return;
    }
    setSaving(true);
    const r = await request('apps.add', { app: input, clientSecret: fields.authType === 'web' ? fields.clientSecret.trim() : null });
    setSaving(false);
    if (r.ok) {
      onAdded(r.value);
      return;
    }
    // What Xero answered (unreachable, credentials refused) is about the app as a whole, not one field; a
    // secret message while no secret field is shown goes to the form too.
    const guessed = r.error.code === 'usage' ? fieldForMessage(r.error.message) : 'form';
    const field = guessed === 'clientSecret' && fields.authType !== 'web' ? 'form' : guessed;
    const next = { [field]: r.error.message } as Errors;
    setErrors(next);
    focusFirstError(id, next);
  };

  const ports = fields.ports
    .split(/[\s,]+/)
    .filter((p) => /^\d+$/.test(p))
    .slice(0, 5);

  return (
    <form className="add-app-form" onSubmit={submit} noValidate aria-label="Add your Xero app">
      <Field id={id} name="name" label="App name" error={errors.name} help="Any name your team will recognise, such as the name it has in Xero.">
        <input type="text" value={fields.name} onChange={(e) => set('name', e.target.value)} autoComplete="off" required />
      </Field>

      <Field
        id={id}
        name="clientId"
        label="Client id"
        error={errors.clientId}
        help={
          <>
            In Xero's developer portal: My Apps → your app → Configuration → Client id.{' '}
            <HelpLink topic="xero-developer-portal">Open the developer portal</HelpLink>
          </>
        }
      >
        <input type="text" value={fields.clientId} onChange={(e) => set('clientId', e.target.value)} autoComplete="off" spellCheck={false} required />
      </Field>

      <fieldset className="field">
        <legend>Type of app</legend>
        <p className="field-help">Chosen when the app was created in Xero. Configuration shows it as the integration type.</p>
        <label className="choice">
          <input type="radio" name={`${id}-type`} checked={fields.authType === 'pkce'} onChange={() => set('authType', 'pkce')} />
          <span>
            <strong>Mobile or desktop app (PKCE)</strong>
            <span className="choice-help">No client secret. Recommended for Relink.</span>
          </span>
        </label>
        <label className="choice">
          <input type="radio" name={`${id}-type`} checked={fields.authType === 'web'} onChange={() => set('authType', 'web')} />
          <span>
            <strong>Web app</strong>
            <span className="choice-help">Has a client secret, which Relink keeps in this computer's keychain only.</span>
          </span>
        </label>
      </fieldset>

      {fields.authType === 'web' && (
        <Field
          id={id}
          name="clientSecret"
          label="Client secret"
          error={errors.clientSecret}
          help="Configuration → Generate a secret. Xero shows it once; paste it here. It never leaves this computer's keychain."
        >
          <input type="password" value={fields.clientSecret} onChange={(e) => set('clientSecret', e.target.value)} autoComplete="off" required />
        </Field>
      )}

      <Field
        id={id}
        name="ports"
        label="Redirect ports"
        error={errors.ports}
        help={
          <>
            Relink listens for Xero's answer on this computer, trying these ports in order. Under Configuration → Redirect
            URIs, add one address per port exactly as shown:
            {ports.length > 0 && (
              <span className="uri-list">
                {ports.map((p) => (
                  <code key={p}>http://127.0.0.1:{p}/callback</code>
                ))}
              </span>
            )}{' '}
            <HelpLink topic="xero-pkce-setup">Setting up a desktop app in Xero</HelpLink>
          </>
        }
      >
        <input type="text" value={fields.ports} onChange={(e) => set('ports', e.target.value)} inputMode="numeric" autoComplete="off" />
      </Field>

      <Field
        id={id}
        name="scopes"
        label="Permissions (scopes)"
        error={errors.scopes}
        help={
          <>
            What the app may do in each organisation, separated by spaces, e.g. accounting.settings.read
            accounting.contacts. Relink adds the sign-in permissions (openid profile email offline_access) itself.{' '}
            <HelpLink topic="xero-scopes">Xero's list of scopes</HelpLink>
          </>
        }
      >
        <input type="text" value={fields.scopes} onChange={(e) => set('scopes', e.target.value)} autoComplete="off" spellCheck={false} />
      </Field>

      <Field
        id={id}
        name="cap"
        label="Connection limit"
        error={errors.cap}
        help={
          <>
            How many organisations the app's Xero plan lets it connect. Leave empty if there is no limit.{' '}
            <HelpLink topic="xero-limits">Xero's connection limits</HelpLink>
          </>
        }
      >
        <input type="number" min={0} step={1} value={fields.cap} onChange={(e) => set('cap', e.target.value)} className="narrow" />
      </Field>

      <div className="field">
        <label className="choice">
          <input type="checkbox" checked={fields.multiOrgConsent} onChange={(e) => set('multiOrgConsent', e.target.checked)} />
          <span>
            <strong>One approval can connect several organisations</strong>
            <span className="choice-help">
              Xero lets the person approving tick several organisations at once. Turn this off only if the app connects one
              organisation per approval.
            </span>
          </span>
        </label>
      </div>

      <Field
        id={id}
        name="createdBy"
        label="Created by (optional)"
        error={errors.createdBy}
        help="The email of whoever created the app in the developer portal. If their Xero login is ever deleted, Xero deletes the app too, so it is worth knowing who it was."
      >
        <input type="email" value={fields.createdBy} onChange={(e) => set('createdBy', e.target.value)} autoComplete="off" />
      </Field>

      <details className="advanced" open={Boolean(fields.issuer) || Boolean(errors.issuer)}>
        <summary>Advanced</summary>
        <Field
          id={id}
          name="issuer"
          label="Xero sign-in server (leave empty for Xero)"
          error={errors.issuer}
          help="Only for trying Relink against a Xero sandbox, such as the one Relink's developers use: its address, for example http://127.0.0.1:4417. Real apps always sign in at Xero."
        >
          <input type="url" value={fields.issuer} onChange={(e) => set('issuer', e.target.value)} autoComplete="off" spellCheck={false} placeholder="https://identity.xero.com" />
        </Field>
      </details>

      {errors.form && (
        <p className="form-error" role="alert" id={`${id}-form-error`}>
          {errors.form}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="button primary" aria-disabled={saving}>
          {saving ? 'Adding…' : 'Add app'}
        </button>
        {onCancel && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function focusFirstError(id: string, errors: Errors) {
  const first = (Object.keys(errors) as Array<FieldName | 'form'>).find((k) => errors[k]);
  if (!first) return;
  requestAnimationFrame(() => document.getElementById(first === 'form' ? `${id}-form-error` : `${id}-${first}`)?.focus());
}

/** A labelled input with its help and its error, both tied to it for screen readers. */
function Field({
  id,
  name,
  label,
  help,
  error,
  children,
}: {
  id: string;
  name: FieldName;
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  children: ReactElement<Record<string, unknown>>;
}) {
  const inputId = `${id}-${name}`;
  const helpId = `${inputId}-help`;
  const errorId = `${inputId}-error`;
  const describedBy = [error ? errorId : null, help ? helpId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field has-error' : 'field'}>
      <label htmlFor={inputId}>{label}</label>
      <FieldInput id={inputId} describedBy={describedBy} invalid={!!error}>
        {children}
      </FieldInput>
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
      {help && (
        <p className="field-help" id={helpId}>
          {help}
        </p>
      )}
    </div>
  );
}


function FieldInput({
  id,
  describedBy,
  invalid,
  children,
}: {
  id: string;
  describedBy: string | undefined;
  invalid: boolean;
  children: ReactElement<Record<string, unknown>>;
}) {
  return cloneElement(children, { id, 'aria-describedby': describedBy, 'aria-invalid': invalid || undefined });
}
