import { useEffect, useRef, type ReactNode } from 'react';
import { consumeViewFocus } from '../state/router.js';

/**
 * A view's one h1. After the advisor moves to another view it takes focus, so keyboard and screen-reader
 * users start at the top of the new view instead of somewhere in the navigation.
 */
export function ViewHeading({ children, description }: { children: ReactNode; description?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (consumeViewFocus()) ref.current?.focus();
  }, []);
  return (
    <div className="view-heading">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {description && <p className="view-description">{description}</p>}
    </div>
  );
}
