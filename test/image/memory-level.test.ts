import { describeImageConformance } from './conformance.js'

describeImageConformance('memory-level')
