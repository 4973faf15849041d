import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';

const root = document.getElementById('root');
if (!root) throw new Error('Relink: the page has no #root element to render into.');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
