import type { Cause } from '../../../../shared/domain.js';
import type { SnapshotIndex } from '../../state/derive.js';
import { compareNames } from '../../state/derive.js';
import { Icon } from '../../ui/Icon.js';
import { CAUSE_WORDS, HEALTH_ORDER, HEALTH_WORDS } from '../../ui/words.js';
import { hasFilters, NO_FILTERS, type OrgFilters } from './filterRows.js';

/**
 * Search by name and filter by health, app, who connected it and why it broke, in one compact toolbar: each
 * control's label is read out but not printed (the search box's placeholder and each list's first choice say
 * what it filters), so the grid keeps the window's height. "Only what needs attention" is one press away.
 */
export function OrganisationFilters({
  index,
  filters,
  onChange,
  attention,
}: {
  index: SnapshotIndex;
  filters: OrgFilters;
  onChange: (next: OrgFilters) => void;
  /** The one-press filter: organisations with a connection someone must fix. */
  attention: { pressed: boolean; count: number; toggle: () => void };
}) {
  const set = <K extends keyof OrgFilters>(key: K, value: OrgFilters[K]) => onChange({ ...filters, [key]: value });
  const staff = [...index.staffById.values()].sort((a, b) => compareNames(a.name, b.name));
  return (
    <form className="filters" role="search" aria-label="Filter organisations" onSubmit={(e) => e.preventDefault()}>
      <div className="field field-search">
        <label htmlFor="org-search" className="visually-hidden">
          Search organisations
        </label>
        <input
          id="org-search"
          type="search"
          value={filters.query}
          placeholder="Search organisations…"
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => set('query', e.target.value)}
        />
      </div>
      <button type="button" className={attention.pressed ? 'button attention-toggle on' : 'button attention-toggle'} aria-pressed={attention.pressed} onClick={attention.toggle}>
        <Icon name={attention.pressed ? 'check' : 'alert'} />
        Only what needs attention
        <span className="attention-count">{attention.count.toLocaleString()}</span>
      </button>
      <div className="field">
        <label htmlFor="org-health" className="visually-hidden">
          Health
        </label>
        <select id="org-health" value={filters.health} onChange={(e) => set('health', e.target.value)}>
          <option value="">Any health</option>
          <option value="attention">Needs attention</option>
          {HEALTH_ORDER.map((h) => (
            <option key={h} value={h}>
              {HEALTH_WORDS[h].label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="org-app" className="visually-hidden">
          App
        </label>
        <select id="org-app" value={filters.appId} onChange={(e) => set('appId', e.target.value)}>
          <option value="">Any app</option>
          {index.apps.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="org-staff" className="visually-hidden">
          Connected by
        </label>
        <select id="org-staff" value={filters.staffId} onChange={(e) => set('staffId', e.target.value)}>
          <option value="">Connected by anyone</option>
          {staff.map((s) => (
            <option key={s.id} value={s.id}>
              Connected by {s.name || s.email}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="org-cause" className="visually-hidden">
          Reason
        </label>
        <select id="org-cause" value={filters.cause} onChange={(e) => set('cause', e.target.value)}>
          <option value="">Any reason</option>
          {index.causes.map((c: Cause) => (
            <option key={c} value={c}>
              {CAUSE_WORDS[c]}
            </option>
          ))}
        </select>
      </div>
      {hasFilters(filters) && (
        <button type="button" className="button subtle filters-clear" onClick={() => onChange(NO_FILTERS)}>
          Clear filters
        </button>
      )}
    </form>
  );
}
