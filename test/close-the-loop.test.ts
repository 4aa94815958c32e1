import { closeTheLoopScenarios } from './close-the-loop.scenarios.js';

closeTheLoopScenarios();
