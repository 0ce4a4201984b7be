"""Names of the degradation-prediction study kept importable from this path for the modules that import them
from here; the code lives in faig.evaluation.labelled_set, faig.evaluation.prediction_study and
faig.reporting.prediction."""
from faig.evaluation.labelled_set import labelled_set_files, labelled_set_recipe, make_labelled_set
from faig.evaluation.prediction_study import headline
from faig.reporting.prediction import percent_text, study_markdown

__all__ = ['headline', 'labelled_set_files', 'labelled_set_recipe', 'make_labelled_set', 'percent_text',
           'study_markdown']
