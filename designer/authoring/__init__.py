"""Visual authoring of SCXML files: edit operations applied as minimal text edits, and Composer blocks.

Django-free so it is unit-testable on its own:

* `xmltext` tokenizes an XML file into elements with the exact spans of their tags and
  attributes (lxml checks the result; it is never reserialised);
* `edits` applies the designer's edit operations (add state, set attribute, add/retarget/delete
  a transition, rename/delete a state, add a block) as edits of only the bytes they must change;
* `blocks` holds the Composer-style block templates and their parameter declarations.
"""
