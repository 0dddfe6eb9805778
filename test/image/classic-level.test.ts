import { describeImageConformance } from './conformance.js'

describeImageConformance('classic-level')
