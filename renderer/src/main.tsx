import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { start } from './state/store.js';
import { IconSprite } from './ui/Icon.js';
import './styles/app.css';

const root = document.getElementById('root');
if (!root) throw new Error('Relink: the page has no #root element to render into.');
void start();
createRoot(root).render(
  <StrictMode>
    <IconSprite />
    <App />
  </StrictMode>,
);
