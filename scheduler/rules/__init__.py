"""The placement rules both sides use: label constraints and placement-group policies.

The planner (scheduler/placement/) decides with them and apply
(scheduler/state/placement.py) checks the decision again with the same ones; this
package imports neither, so the two never import each other for a rule.
"""
